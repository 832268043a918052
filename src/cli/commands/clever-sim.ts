import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { ALL_FAULT_KINDS, startCleverSimulator } from '../../simulator/index.js';
import type { FaultKind, FaultOptions, SimulatorOptions } from '../../simulator/index.js';
import { untilStopped } from '../context.js';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

/** `--faults RATE[:kind,kind]`, e.g. `0.05` or `0.1:500,reset,truncated`. */
export function parseFaults(v: string): FaultOptions {
  const [rateText = '', kindsText] = v.split(':', 2);
  const rate = Number(rateText);
  if (rateText.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new InvalidArgumentError('fault rate must be a number between 0 and 1');
  const out: FaultOptions = { rate };
  if (kindsText !== undefined && kindsText !== '') {
    const kinds = kindsText.split(',').map((k) => k.trim());
    for (const k of kinds) {
      if (!ALL_FAULT_KINDS.includes(k as FaultKind))
        throw new InvalidArgumentError(`unknown fault kind ${k} (one of ${ALL_FAULT_KINDS.join(', ')})`);
    }
    out.kinds = kinds as FaultKind[];
  }
  return out;
}

export function registerCleverSimCommand(program: Command): void {
  program
    .command('clever-sim')
    .description(
      'serve a local Clever Data API simulator (v3.0 and v3.1) until SIGINT/SIGTERM; prints one line: clever-sim listening url=... token=... client_id=... client_secret=...',
    )
    .option('--port <port>', 'listen port (default 0 = ephemeral)', int('port', 0))
    .option('--host <host>', 'listen address (default 127.0.0.1; the /__sim control endpoints have no auth)')
    .option('--seed <seed>', 'seed of all generated data (default 1)', int('seed', 0))
    .option('--districts <n>', 'districts, each with its own token (default 1)', int('districts', 1))
    .option('--schools <n>', 'schools with students per district (default 6)', int('schools', 1))
    .option('--students <n>', 'students per district (default 1000)', int('students', 0))
    .option('--teachers <n>', 'teachers per district (default max(2, ceil(students/20)))', int('teachers', 0))
    .option('--staff <n>', 'school staff per district (default max(1, ceil(students/100)))', int('staff', 0))
    .option('--contacts-per-student <x>', 'contacts per student, fractions allowed (default 1)', nonNegative)
    .option(
      '--sections-per-teacher <n>',
      'sections (periods) per teacher (default 4)',
      int('sections-per-teacher', 1),
    )
    .option('--terms <n>', 'terms per school year (default 2)', int('terms', 1))
    .option('--courses <n>', 'courses per district (default 12)', int('courses', 1))
    .option('--no-quirks', 'serve clean data without the realistic quirks')
    .option('--token <token>', "fix district 0's bearer token (default derived from the seed)")
    .option('--client-id <id>', "the app's client id for /oauth/tokens (default derived from the seed)")
    .option('--client-secret <secret>', "the app's client secret (default derived from the seed)")
    .option(
      '--faults <spec>',
      'fault injection RATE[:kind,kind] (kinds: 500,502,503,429,reset,truncated,slow)',
      parseFaults,
    )
    .option('--rate-limit <n>', 'requests per minute per token (default 1200)', int('rate-limit', 1))
    .option(
      '--advance <days>',
      'apply this many normal days of district life before serving',
      int('advance', 0),
    )
    .action(async (opts) => {
      const sim: SimulatorOptions = { quirks: opts.quirks };
      if (opts.port !== undefined) sim.port = opts.port;
      if (opts.host !== undefined) sim.host = opts.host;
      if (opts.seed !== undefined) sim.seed = opts.seed;
      if (opts.districts !== undefined) sim.districts = opts.districts;
      if (opts.schools !== undefined) sim.schools = opts.schools;
      if (opts.students !== undefined) sim.students = opts.students;
      if (opts.teachers !== undefined) sim.teachers = opts.teachers;
      if (opts.staff !== undefined) sim.staff = opts.staff;
      if (opts.contactsPerStudent !== undefined) sim.contactsPerStudent = opts.contactsPerStudent;
      if (opts.sectionsPerTeacher !== undefined) sim.sectionsPerTeacher = opts.sectionsPerTeacher;
      if (opts.terms !== undefined) sim.terms = opts.terms;
      if (opts.courses !== undefined) sim.courses = opts.courses;
      if (opts.token !== undefined) sim.token = opts.token;
      if (opts.clientId !== undefined) sim.clientId = opts.clientId;
      if (opts.clientSecret !== undefined) sim.clientSecret = opts.clientSecret;
      if (opts.faults !== undefined) sim.faults = opts.faults;
      if (opts.rateLimit !== undefined) sim.rateLimit = { limit: opts.rateLimit, windowMs: 60_000 };
      const server = await startCleverSimulator(sim);
      if (opts.advance !== undefined && opts.advance > 0) {
        for (let d = 0; d < server.districts.length; d++) server.advance(opts.advance, 'normal', d);
      }
      // Other tools parse this line: keep `url=`, `token=`, `client_id=` and `client_secret=` exactly.
      process.stdout.write(
        `clever-sim listening url=${server.url} token=${server.token} client_id=${server.clientId} client_secret=${server.clientSecret}\n`,
      );
      await untilStopped();
      await server.close();
    });
}
