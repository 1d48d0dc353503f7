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

/** The `message` of a JSON error body (as jupyter_server writes them), else the raw text. */
function errorDetail(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'message' in parsed &&
      typeof parsed.message === 'string'
    ) {
      return parsed.message;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, 200);
}
