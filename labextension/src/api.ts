// Typed client for the mrsm_jupyter server extension's REST API.
//
// The payload interfaces mirror the Python payload types of the server
// extension (`mrsm_jupyter/jupyter/server/`); keep the two in step.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** URL namespace of the server extension, under the Jupyter server's base URL. */
export const API_NAMESPACE = 'mrsm/api';

/** An instance connector, e.g. `{ keys: 'sql:local', flavor: 'duckdb' }`. */
export interface InstanceInfo {
  keys: string;
  flavor: string;
}

/** A pipe's identity on its instance, with its row count when known. */
export interface PipeInfo {
  connector_keys: string;
  metric_key: string;
  location_key: string | null;
  instance_keys: string;
  rowcount?: number;
}

/** `GET pipes/{c}/{m}/{l}/rowcount`. */
export interface RowcountInfo {
  rowcount: number;
}

/** A bound on the wire: an ISO 8601 string (datetime axis), an integer, or null. */
export type WireBound = string | number | null;

/** `GET pipes/{c}/{m}/{l}/sync_time`: the newest value of the pipe's datetime axis. */
export interface SyncTimeInfo {
  sync_time: WireBound;
}

/** The outcome of a job's last run. */
export interface JobResultInfo {
  ok: boolean;
  exit_code: number | null;
  message: string;
}

/** A background job, as `GET jobs` and the job actions answer. */
export interface JobInfo {
  name: string;
  kind: string;
  state: string;
  argv: string[];
  schedule: string | null;
  restart: string;
  pid: number | null;
  started: string | null;
  ended: string | null;
  next_run: string | null;
  runs: number;
  last_result: JobResultInfo | null;
}

/** The actions `POST jobs/{name}/{action}` accepts. */
export type JobAction = 'start' | 'stop' | 'pause' | 'resume' | 'restart';

/**
 * An error answered by (or on the way to) the server extension.
 *
 * `status` is the HTTP status, or 0 when no response arrived at all.
 */
export class MrsmAPIError extends Error {
  constructor(
    message: string,
    readonly endPoint: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'MrsmAPIError';
  }

  /** True when the server answered 404 for the namespace: the extension is not loaded. */
  get serverExtensionMissing(): boolean {
    return this.status === 404;
  }
}

/**
 * Call `<base>/mrsm/api/<endPoint>` and decode its JSON body as `T`.
 *
 * @example
 * const instances = await requestAPI<InstanceInfo[]>('instances');
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new MrsmAPIError(
      `Could not reach the Jupyter server for ${endPoint}: ${String(error)}`,
      endPoint,
      0
    );
  }

  const body = await response.text();
  if (!response.ok) {
    throw new MrsmAPIError(
      `${endPoint} answered ${response.status} ${response.statusText}: ${errorDetail(body)}`,
      endPoint,
      response.status
    );
  }
  try {
    return (body.length > 0 ? JSON.parse(body) : null) as T;
  } catch {
    throw new MrsmAPIError(
      `${endPoint} answered a body that is not JSON: ${body.slice(0, 200)}`,
      endPoint,
      response.status
    );
  }
}

/** The instance connectors the server knows. */
export function listInstances(): Promise<InstanceInfo[]> {
  return requestAPI<InstanceInfo[]>('instances');
}

/** The registered pipes, on one instance or on every instance. */
export function listPipes(instanceKeys?: string): Promise<PipeInfo[]> {
  const query =
    instanceKeys === undefined
      ? ''
      : URLExt.objectToQueryString({ instance_keys: instanceKeys });
  return requestAPI<PipeInfo[]>(`pipes${query}`);
}

/** `pipes/{c}/{m}/{l}/<suffix>`, each key one percent-encoded segment (no location: `None`). */
export function pipePath(pipe: PipeInfo, suffix: string): string {
  const keys = [
    pipe.connector_keys,
    pipe.metric_key,
    pipe.location_key ?? 'None'
  ];
  const query = URLExt.objectToQueryString({
    instance_keys: pipe.instance_keys
  });
  return `pipes/${keys.map(encodeURIComponent).join('/')}/${suffix}${query}`;
}

/** The pipe's row count. */
export async function getRowcount(pipe: PipeInfo): Promise<number> {
  return (await requestAPI<RowcountInfo>(pipePath(pipe, 'rowcount'))).rowcount;
}

/** The pipe's newest sync time (null when it has no rows). */
export async function getSyncTime(pipe: PipeInfo): Promise<WireBound> {
  return (await requestAPI<SyncTimeInfo>(pipePath(pipe, 'sync_time')))
    .sync_time;
}

/** The background jobs. */
export function listJobs(): Promise<JobInfo[]> {
  return requestAPI<JobInfo[]>('jobs');
}

/**
 * Start, stop, pause, resume or restart a job; answers its new state.
 *
 * Goes through `ServerConnection`, which sends the `X-XSRFToken` header for POSTs.
 */
export function actOnJob(name: string, action: JobAction): Promise<JobInfo> {
  return requestAPI<JobInfo>(`jobs/${encodeURIComponent(name)}/${action}`, {
    method: 'POST'
  });
}

/** The `error` (or `message`) of a JSON error body (see `ErrorInfo`), else the raw text. */
function errorDetail(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const key of ['error', 'message']) {
        const value: unknown = (parsed as Record<string, unknown>)[key];
        if (typeof value === 'string' && value.length > 0) {
          return value;
        }
      }
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, 200);
}
