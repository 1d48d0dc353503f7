// The jobs section (live states, stop/restart, a log button) and the log viewer, which
// follows a job's log over the server extension's websocket.
import { Widget } from '@lumino/widgets';

import { JobAction, JobInfo, actOnJob, followJobLog } from './api';
import { button, empty, errorText, list, sectionNode, span } from './elements';

/** Job states in which the job is (or will be) running, so "Stop" makes sense. */
const ACTIVE_STATES = new Set(['running', 'paused', 'scheduled', 'restarting']);
/** The viewer keeps at most this many lines (older ones scroll away). */
const MAX_LOG_LINES = 5000;

/** The jobs section; `openLog` shows a job's log. */
export function jobsSection(
  jobs: JobInfo[],
  openLog: (name: string) => void
): HTMLElement {
  const node = sectionNode('Jobs', 'jobs');
  node.append(
    jobs.length === 0
      ? empty('No jobs.')
      : list(jobs.map(job => jobItem(job, openLog)))
  );
  return node;
}

/** One job: name, state (its last failure as a tooltip), and its actions. */
export function jobItem(
  job: JobInfo,
  openLog: (name: string) => void
): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'jp-MrsmPanel-job';
  item.dataset.job = job.name;
  item.dataset.state = job.state;
  const state = span(`jp-MrsmPanel-jobState jp-mod-${job.state}`, job.state);
  if (job.last_result !== null && !job.last_result.ok) {
    state.title = job.last_result.message;
  }
  const message = span('jp-MrsmPanel-jobMessage jp-mod-error');
  const act = (action: JobAction) => async (): Promise<void> => {
    message.textContent = '';
    try {
      item.replaceWith(jobItem(await actOnJob(job.name, action), openLog));
    } catch (error) {
      message.textContent = errorText(error, `${action} ${job.name}`);
    }
  };
  const actions = span('jp-MrsmPanel-jobActions');
  actions.append(
    button('Log', `Show the log of job ${job.name}`, () => {
      openLog(job.name);
      return Promise.resolve();
    })
  );
  if (ACTIVE_STATES.has(job.state)) {
    actions.append(button('Stop', `Stop job ${job.name}`, act('stop')));
  }
  actions.append(button('Restart', `Restart job ${job.name}`, act('restart')));
  item.append(span('jp-MrsmPanel-jobName', job.name), state, actions, message);
  return item;
}

/** A job's log, followed live while the widget is open. */
export class JobLogViewer extends Widget {
  constructor(readonly jobName: string) {
    super();
    this.id = `mrsm-job-log-${jobName}`;
    this.addClass('jp-MrsmLogViewer');
    this.title.label = `Log: ${jobName}`;
    this.title.caption = `The log of job ${jobName}, followed live`;
    this.title.closable = true;
    this._status = span('jp-MrsmLogViewer-status', 'Connecting…');
    this._status.setAttribute('role', 'status');
    this._lines = document.createElement('pre');
    this._lines.className = 'jp-MrsmLogViewer-lines';
    this.node.append(this._status, this._lines);
  }

  protected override onAfterAttach(): void {
    this._connect();
  }

  protected override onBeforeDetach(): void {
    this._socket?.close();
    this._socket = null;
  }

  private _connect(): void {
    const socket = followJobLog(this.jobName, line => this._append(line));
    socket.onopen = () => {
      this._status.textContent = `Following the log of ${this.jobName}.`;
    };
    socket.onclose = event => {
      if (this._socket === socket) {
        this._status.textContent = `Stopped following (${event.code === 1000 ? 'closed' : `connection lost, code ${event.code}`}). Reopen the log to follow again.`;
      }
    };
    this._socket = socket;
  }

  private _append(line: string): void {
    const atBottom =
      this.node.scrollTop + this.node.clientHeight >=
      this.node.scrollHeight - 4;
    const row = document.createElement('div');
    row.className = 'jp-MrsmLogViewer-line';
    row.textContent = line.replace(/\n$/, '');
    this._lines.append(row);
    while (this._lines.childElementCount > MAX_LOG_LINES) {
      this._lines.firstElementChild?.remove();
    }
    if (atBottom) {
      this.node.scrollTop = this.node.scrollHeight;
    }
  }

  private readonly _status: HTMLSpanElement;
  private readonly _lines: HTMLPreElement;
  private _socket: WebSocket | null = null;
}
