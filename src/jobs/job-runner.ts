import type { RunRequestOrigin } from '../store/queries/service.js';

/** What asks for a run: a schedule's tick, or a person (`runs start`, later the API). */
export interface JobRequest {
  district: string;
  origin: RunRequestOrigin;
  /** The run-request row this job answers, when it came from the store (`runs start`). */
  requestId?: string;
}

/**
 * How jobs arrive and run: in process (EmbeddedRunner) or through pg-boss (DistributedRunner). Both
 * run a job with the one `runDistrictJob`; a job is only a district id and an origin, so it can be
 * retried anywhere.
 */
export interface JobRunner {
  /** Asks for a run of the district. A run asked for while one is queued for it joins that one. */
  enqueue(req: JobRequest): Promise<void>;
  /** Jobs waiting to start. */
  queueDepth(): Promise<number>;
  /** Stops taking jobs; resolves once the runs in progress have stopped (at a batch boundary). */
  stop(): Promise<void>;
}
