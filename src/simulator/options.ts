import { z } from 'zod';
import type { FaultOptions, SimulatorOptions } from './types.js';

const count = z.number().int().min(0);

const faultSchema = z.object({
  rate: z.number().min(0).max(1),
  kinds: z
    .array(z.enum(['500', '502', '503', '429', 'reset', 'truncated', 'slow']))
    .min(1)
    .optional(),
  slowMs: z.number().int().min(0).max(600_000).optional(),
  seed: z.number().int().optional(),
});

export const faultOptionsSchema = faultSchema;

const optionsSchema = z.object({
  seed: z.number().int().optional(),
  districts: z.number().int().min(1).max(255).optional(),
  schools: z.number().int().min(1).max(4000).optional(),
  // 2^28 students keeps every index of every block inside the 32-bit index field of an id.
  students: count.max(100_000_000).optional(),
  teachers: count.max(10_000_000).optional(),
  staff: count.max(10_000_000).optional(),
  districtAdmins: count.max(100_000).optional(),
  contactsPerStudent: z.number().min(0).max(8).optional(),
  sectionsPerTeacher: z.number().int().min(1).max(12).optional(),
  terms: z.number().int().min(1).max(12).optional(),
  courses: z.number().int().min(1).max(10_000).optional(),
  quirks: z.boolean().optional(),
  faults: faultSchema.optional(),
  events: z.boolean().optional(),
  rateLimit: z.object({ limit: z.number().int().min(1), windowMs: z.number().int().min(1) }).optional(),
  token: z.string().min(1).optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
});

/** District shape after defaults; identical for every district of a simulator. */
export interface DistrictShape {
  seed: number;
  schools: number;
  students: number;
  teachers: number;
  staff: number;
  districtAdmins: number;
  /** contactsPerStudent as the exact fraction contactsNum / contactsDen. */
  contactsNum: number;
  contactsDen: number;
  sectionsPerTeacher: number;
  terms: number;
  courses: number;
  quirks: boolean;
}

export interface ResolvedOptions {
  shape: DistrictShape;
  districts: number;
  faults: FaultOptions | null;
  events: boolean;
  rateLimit: { limit: number; windowMs: number };
  token: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  host: string;
  port: number;
  now: () => number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Applies the documented defaults and validates ranges (throws a ZodError on bad options). */
export function resolveOptions(opts: SimulatorOptions = {}): ResolvedOptions {
  const o = optionsSchema.parse(opts);
  const students = o.students ?? 1000;
  // Fractions are kept exact (per mille) so contact blocks can be inverted with integer arithmetic.
  const num = Math.round((o.contactsPerStudent ?? 1) * 1000);
  const g = gcd(num, 1000) || 1;
  return {
    shape: {
      seed: o.seed ?? 1,
      schools: o.schools ?? 6,
      students,
      teachers: o.teachers ?? Math.max(2, Math.ceil(students / 20)),
      staff: o.staff ?? Math.max(1, Math.ceil(students / 100)),
      districtAdmins: o.districtAdmins ?? 2,
      contactsNum: num / g,
      contactsDen: 1000 / g,
      sectionsPerTeacher: o.sectionsPerTeacher ?? 4,
      terms: o.terms ?? 2,
      courses: o.courses ?? 12,
      quirks: o.quirks ?? true,
    },
    districts: o.districts ?? 1,
    faults: o.faults ? normaliseFaults(o.faults) : null,
    events: o.events ?? true,
    rateLimit: o.rateLimit ?? { limit: 1200, windowMs: 60_000 },
    token: o.token,
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    now: o.now ?? Date.now,
  };
}

export function normaliseFaults(f: z.infer<typeof faultSchema>): FaultOptions {
  const parsed = faultSchema.parse(f);
  const out: FaultOptions = { rate: parsed.rate };
  if (parsed.kinds) out.kinds = parsed.kinds;
  if (parsed.slowMs !== undefined) out.slowMs = parsed.slowMs;
  if (parsed.seed !== undefined) out.seed = parsed.seed;
  return out;
}
