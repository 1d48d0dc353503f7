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

/** `GET pipes/{c}/{m}/{l}`: one registered pipe. */
export interface PipeDetail {
  connector_keys: string;
  metric_key: string;
  location_key: string | null;
  instance_keys: string;
  parameters: Record<string, unknown>;
  target: string;
  tags: string[];
  columns: Record<string, string>;
}

/** `POST pipes`: register a pipe. */
export interface RegisterRequest {
  connector_keys: string;
  metric_key: string;
  location_key?: string | null;
  instance_keys?: string | null;
  parameters?: Record<string, unknown>;
}

/** What `POST .../sync` did. */
export interface SyncResultInfo {
  pipe: string;
  inserted: number;
  updated: number;
  unchanged: number;
  duration: number;
  batches: number;
  columns_added: string[];
  columns_widened: string[];
  created_table: boolean;
  success: boolean;
  message: string;
  dtypes: Record<string, string>;
}

/** What `POST .../verify` compared and re-synced. */
export interface VerifyResultInfo {
  pipe: string;
  chunks: number;
  chunks_changed: number;
  inserted: number;
  updated: number;
  deleted: number;
  duration: number;
  success: boolean;
  message: string;
}

/** What a maintenance action (clear, delete, drop) did. */
export interface ActionInfo {
  pipe: string;
  action: string;
  rows: number | null;
  success: boolean;
  message: string;
}

/** `GET pipes/{c}/{m}/{l}/rowcount_buckets`: rows per equal time span, oldest first. */
export interface RowcountBuckets {
  begin: WireBound;
  end: WireBound;
  counts: number[];
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

/**
 * The registered pipes, on one instance or on every instance, with any of `tags`.
 *
 * @example
 * const demo = await listPipes('sql:local', ['demo']);
 */
export function listPipes(
  instanceKeys?: string,
  tags: string[] = []
): Promise<PipeInfo[]> {
  const query = new URLSearchParams();
  if (instanceKeys !== undefined) {
    query.append('instance_keys', instanceKeys);
  }
  for (const tag of tags) {
    query.append('tags', tag);
  }
  const text = query.toString();
  return requestAPI<PipeInfo[]>(text === '' ? 'pipes' : `pipes?${text}`);
}

/** Register a pipe; answers its identity. */
export function registerPipe(request: RegisterRequest): Promise<PipeInfo> {
  return requestAPI<PipeInfo>('pipes', {
    method: 'POST',
    body: JSON.stringify(request)
  });
}

/** One registered pipe: parameters, columns, tags and target table. */
export function getPipe(pipe: PipeInfo): Promise<PipeDetail> {
  return requestAPI<PipeDetail>(pipePath(pipe, ''));
}

/** `pipes/{c}/{m}/{l}[/<suffix>]`, each key one percent-encoded segment (no location: `None`). */
export function pipePath(pipe: PipeInfo, suffix: string): string {
  const keys = [
    pipe.connector_keys,
    pipe.metric_key,
    pipe.location_key ?? 'None'
  ];
  const query = URLExt.objectToQueryString({
    instance_keys: pipe.instance_keys
  });
  const tail = suffix === '' ? '' : `/${suffix}`;
  return `pipes/${keys.map(encodeURIComponent).join('/')}${tail}${query}`;
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

/** The pipe's rows per equal time span between its oldest and newest rows. */
export function getRowcountBuckets(
  pipe: PipeInfo,
  buckets = 24
): Promise<RowcountBuckets> {
  const path = pipePath(pipe, 'rowcount_buckets');
  return requestAPI<RowcountBuckets>(`${path}&buckets=${buckets}`);
}

/** Fetch from the pipe's source and merge, on the server. */
export function syncPipe(pipe: PipeInfo): Promise<SyncResultInfo> {
  return requestAPI<SyncResultInfo>(pipePath(pipe, 'sync'), {
    method: 'POST',
    body: '{}'
  });
}

/** Compare the pipe with its source and re-sync what changed, on the server. */
export function verifyPipe(pipe: PipeInfo): Promise<VerifyResultInfo> {
  return requestAPI<VerifyResultInfo>(pipePath(pipe, 'verify'), {
    method: 'POST',
    body: '{}'
  });
}

/** Delete every row of the pipe (the registration and table stay). */
export function clearPipe(pipe: PipeInfo): Promise<ActionInfo> {
  return requestAPI<ActionInfo>(pipePath(pipe, 'clear'), {
    method: 'POST',
    body: '{}'
  });
}

/** Drop the pipe's table and remove its registration. */
export function deletePipe(pipe: PipeInfo): Promise<ActionInfo> {
  return requestAPI<ActionInfo>(pipePath(pipe, ''), { method: 'DELETE' });
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

/**
 * Follow a job's log: `onLine` gets the newest `lines` lines, then each new line.
 *
 * The websocket authenticates like the rest of JupyterLab (its cookie, or the token).
 * Close the returned socket to stop following.
 */
export function followJobLog(
  name: string,
  onLine: (line: string) => void,
  lines = 200
): WebSocket {
  const settings = ServerConnection.makeSettings();
  const query: Record<string, string> = { lines: String(lines) };
  if (settings.token !== '') {
    query.token = settings.token;
  }
  const url =
    URLExt.join(
      settings.wsUrl,
      API_NAMESPACE,
      'jobs',
      encodeURIComponent(name),
      'logs',
      'ws'
    ) + URLExt.objectToQueryString(query);
  const socket = new settings.WebSocket(url);
  socket.onmessage = (event: MessageEvent) => onLine(String(event.data));
  return socket;
}
