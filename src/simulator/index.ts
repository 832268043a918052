// The local Clever Data API simulator (v3.0 / v3.1) used by the demo, tests and benchmarks.
// It depends on nothing else in the engine, and the engine never imports it (only the CLI command,
// the demo, tests and benchmarks start it).
export { startCleverSimulator } from './clever-simulator.js';
export { EVENT_RETENTION_DAYS } from './event-log.js';
export { DEFAULT_LIMIT, MAX_LIMIT } from './data-api.js';
export { CODE_TTL_MS } from './oauth.js';
export { DAILY_RATES } from './change-days.js';
export { ALL_FAULT_KINDS } from './faults.js';
export { ROLES, COLLECTIONS } from './types.js';
export type {
  CleverSimulator,
  Collection,
  DayKind,
  DayRecord,
  FaultKind,
  FaultOptions,
  GroundTruth,
  IdsByCollection,
  Role,
  SimulatedDistrict,
  SimulatorOptions,
} from './types.js';
