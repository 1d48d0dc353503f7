// The "Meerschaum" sidebar panel: instances, pipes (with lazily fetched row counts and
// sync times) and background jobs, from the server extension's REST API.
import { Widget } from '@lumino/widgets';

import {
  InstanceInfo,
  JobAction,
  JobInfo,
  MrsmAPIError,
  PipeInfo,
  WireBound,
  actOnJob,
  getRowcount,
  getSyncTime,
  listInstances,
  listJobs,
  listPipes
} from './api';
import { meerschaumIcon } from './icon';

export const PANEL_ID = 'mrsm-jupyter-sidebar';

/** Shown when the REST namespace answers 404: the Python side is not loaded. */
export const SERVER_EXTENSION_MISSING =
  'The mrsm_jupyter server extension is not available. Install mrsm_jupyter ' +
  'in the Jupyter server environment, run ' +
  '`jupyter server extension enable mrsm_jupyter`, then restart Jupyter.';

/** Job states in which the job is (or will be) running, so "Stop" makes sense. */
const ACTIVE_STATES = new Set(['running', 'paused', 'scheduled', 'restarting']);

export class MeerschaumPanel extends Widget {
  constructor() {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-MrsmPanel');
    this.title.label = 'Meerschaum';
    this.title.caption = 'Meerschaum';
    this.title.icon = meerschaumIcon;

    const header = document.createElement('header');
    header.className = 'jp-MrsmPanel-header';
    const heading = document.createElement('h2');
    heading.textContent = 'Meerschaum';
    const refresh = button('Refresh', 'Reload instances, pipes and jobs', () =>
      this.refresh()
    );
    refresh.classList.add('jp-MrsmPanel-refresh');
    header.append(heading, refresh);

    this._status = document.createElement('p');
    this._status.className = 'jp-MrsmPanel-status';
    this._status.setAttribute('role', 'status');

    this._filter = document.createElement('input');
    this._filter.type = 'search';
    this._filter.className = 'jp-MrsmPanel-filter';
    this._filter.placeholder = 'Filter pipes by connector or metric';
    this._filter.setAttribute('aria-label', 'Filter pipes');
    this._filter.addEventListener('input', () => this._applyFilter());

    this._content = document.createElement('div');
    this._content.className = 'jp-MrsmPanel-content';
    this.node.append(header, this._status, this._content);
  }

  /** Fetch instances, pipes and jobs and render them; a newer call wins over an older one. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this._observer?.disconnect();
    this._showStatus('Loading…');
    const [instances, pipes, jobs] = await Promise.allSettled([
      listInstances(),
      listPipes(),
      listJobs()
    ]);
    if (generation !== this._generation) {
      return;
    }
    if (instances.status === 'rejected') {
      this._showError(instances.reason, 'instances');
      return;
    }
    this._status.hidden = true;
    this._content.replaceChildren(
      this._renderInstances(instances.value),
      pipes.status === 'fulfilled'
        ? this._renderPipes(instances.value, pipes.value)
        : errorSection('Pipes', pipes.reason, 'pipes'),
      jobs.status === 'fulfilled'
        ? this._renderJobs(jobs.value)
        : errorSection('Jobs', jobs.reason, 'jobs')
    );
  }

  protected override onAfterAttach(): void {
    void this.refresh();
  }

  protected override onBeforeDetach(): void {
    this._observer?.disconnect();
  }

  private _renderInstances(instances: InstanceInfo[]): HTMLElement {
    const node = sectionNode('Instances', 'instances');
    node.append(
      instances.length === 0
        ? empty('No instances configured.')
        : list(
            instances.map(i => {
              const item = document.createElement('li');
              item.className = 'jp-MrsmPanel-instance';
              item.textContent = `${i.keys} (${i.flavor})`;
              return item;
            })
          )
    );
    return node;
  }

  private _renderPipes(
    instances: InstanceInfo[],
    pipes: PipeInfo[]
  ): HTMLElement {
    const node = sectionNode('Pipes', 'pipes');
    if (pipes.length === 0) {
      node.append(empty('No pipes registered.'));
      return node;
    }
    // Fetch each pipe's row count and sync time only once its row scrolls into view.
    const pending = new Map<Element, PipeInfo>();
    this._observer = new IntersectionObserver(entries => {
      for (const entry of entries) {
        const pipe = pending.get(entry.target);
        if (entry.isIntersecting && pipe !== undefined) {
          pending.delete(entry.target);
          this._observer?.unobserve(entry.target);
          void loadFacts(pipe, entry.target as HTMLElement);
        }
      }
    });
    const groups: HTMLElement[] = [];
    const known = instances.map(i => i.keys);
    const extra = pipes
      .map(p => p.instance_keys)
      .filter((k, i, all) => !known.includes(k) && all.indexOf(k) === i);
    for (const keys of [...known, ...extra]) {
      const onInstance = pipes.filter(p => p.instance_keys === keys);
      if (onInstance.length === 0) {
        continue;
      }
      const group = document.createElement('div');
      group.className = 'jp-MrsmPanel-instanceGroup';
      const title = document.createElement('h4');
      title.textContent = keys;
      const items = onInstance.map(pipe => {
        const item = pipeItem(pipe);
        pending.set(item, pipe);
        this._observer?.observe(item);
        return item;
      });
      group.append(title, list(items));
      groups.push(group);
    }
    this._noMatch = empty('No pipes match the filter.');
    node.append(this._filter, ...groups, this._noMatch);
    this._applyFilter();
    return node;
  }

  private _applyFilter(): void {
    const needle = this._filter.value.trim().toLowerCase();
    let shown = 0;
    for (const group of this._content.querySelectorAll<HTMLElement>(
      '.jp-MrsmPanel-instanceGroup'
    )) {
      let inGroup = 0;
      for (const item of group.querySelectorAll<HTMLElement>(
        '.jp-MrsmPanel-pipe'
      )) {
        const match =
          needle === '' || (item.dataset.search ?? '').includes(needle);
        item.hidden = !match;
        inGroup += match ? 1 : 0;
      }
      group.hidden = inGroup === 0;
      shown += inGroup;
    }
    if (this._noMatch !== null) {
      this._noMatch.hidden = shown > 0;
    }
  }

  private _renderJobs(jobs: JobInfo[]): HTMLElement {
    const node = sectionNode('Jobs', 'jobs');
    node.append(
      jobs.length === 0
        ? empty('No jobs.')
        : list(jobs.map(job => jobItem(job)))
    );
    return node;
  }

  private _showStatus(text: string, isError = false): void {
    this._status.hidden = false;
    this._status.textContent = text;
    this._status.classList.toggle('jp-mod-error', isError);
  }

  private _showError(error: unknown, what: string): void {
    this._content.replaceChildren();
    this._showStatus(errorText(error, what), true);
  }

  private readonly _status: HTMLParagraphElement;
  private readonly _filter: HTMLInputElement;
  private readonly _content: HTMLDivElement;
  private _noMatch: HTMLElement | null = null;
  private _observer: IntersectionObserver | null = null;
  private _generation = 0;
}

/** `connector_keys / metric_key[ / location_key] @ instance_keys[ — N rows]` */
export function describePipe(pipe: PipeInfo): string {
  const keys = [pipe.connector_keys, pipe.metric_key];
  if (pipe.location_key !== null) {
    keys.push(pipe.location_key);
  }
  const rows =
    pipe.rowcount === undefined
      ? ''
      : ` — ${pipe.rowcount.toLocaleString()} rows`;
  return `${keys.join(' / ')} @ ${pipe.instance_keys}${rows}`;
}

/** The error as a sentence; a 404 means the server extension is not loaded. */
export function errorText(error: unknown, what: string): string {
  if (error instanceof MrsmAPIError && error.serverExtensionMissing) {
    return SERVER_EXTENSION_MISSING;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Could not load ${what}: ${message}`;
}

/** A sync time for people: the ISO string as is, an integer axis value, or "no rows". */
export function describeSyncTime(syncTime: WireBound): string {
  return syncTime === null ? 'no rows' : `synced up to ${String(syncTime)}`;
}

function pipeItem(pipe: PipeInfo): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'jp-MrsmPanel-pipe';
  const keys = [pipe.connector_keys, pipe.metric_key];
  if (pipe.location_key !== null) {
    keys.push(pipe.location_key);
  }
  item.dataset.search = keys.join(' ').toLowerCase();
  const name = document.createElement('span');
  name.className = 'jp-MrsmPanel-pipeName';
  name.textContent = keys.join(' / ');
  const facts = document.createElement('span');
  facts.className = 'jp-MrsmPanel-facts';
  facts.textContent = '…';
  item.append(name, facts);
  return item;
}

async function loadFacts(pipe: PipeInfo, item: HTMLElement): Promise<void> {
  const facts = item.querySelector('.jp-MrsmPanel-facts');
  if (facts === null) {
    return;
  }
  const [rowcount, syncTime] = await Promise.allSettled([
    pipe.rowcount === undefined
      ? getRowcount(pipe)
      : Promise.resolve(pipe.rowcount),
    getSyncTime(pipe)
  ]);
  const parts: string[] = [];
  parts.push(
    rowcount.status === 'fulfilled'
      ? `${rowcount.value.toLocaleString()} rows`
      : 'rows unknown'
  );
  parts.push(
    syncTime.status === 'fulfilled'
      ? describeSyncTime(syncTime.value)
      : 'sync time unknown'
  );
  facts.textContent = parts.join(', ');
  const failed = [rowcount, syncTime].find(r => r.status === 'rejected');
  facts.classList.toggle('jp-mod-error', failed !== undefined);
  if (failed !== undefined && failed.status === 'rejected') {
    (facts as HTMLElement).title = errorText(failed.reason, 'pipe facts');
  }
}

function jobItem(job: JobInfo): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'jp-MrsmPanel-job';
  item.dataset.job = job.name;
  const name = document.createElement('span');
  name.className = 'jp-MrsmPanel-jobName';
  name.textContent = job.name;
  const state = document.createElement('span');
  state.className = `jp-MrsmPanel-jobState jp-mod-${job.state}`;
  state.textContent = job.state;
  if (job.last_result !== null && !job.last_result.ok) {
    state.title = job.last_result.message;
  }
  const message = document.createElement('span');
  message.className = 'jp-MrsmPanel-jobMessage jp-mod-error';
  const act = (action: JobAction) => async (): Promise<void> => {
    message.textContent = '';
    try {
      item.replaceWith(jobItem(await actOnJob(job.name, action)));
    } catch (error) {
      message.textContent = errorText(error, `${action} ${job.name}`);
    }
  };
  const actions = document.createElement('span');
  actions.className = 'jp-MrsmPanel-jobActions';
  if (ACTIVE_STATES.has(job.state)) {
    actions.append(button('Stop', `Stop job ${job.name}`, act('stop')));
  }
  actions.append(button('Restart', `Restart job ${job.name}`, act('restart')));
  item.append(name, state, actions, message);
  return item;
}

function button(
  text: string,
  title: string,
  onClick: () => Promise<void>
): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'jp-Button jp-mod-minimal jp-MrsmPanel-button';
  node.textContent = text;
  node.title = title;
  node.addEventListener('click', () => {
    node.disabled = true;
    void onClick().finally(() => {
      node.disabled = false;
    });
  });
  return node;
}

function sectionNode(title: string, name: string): HTMLElement {
  const node = document.createElement('section');
  node.className = `jp-MrsmPanel-section jp-MrsmPanel-${name}`;
  const heading = document.createElement('h3');
  heading.textContent = title;
  node.append(heading);
  return node;
}

function errorSection(
  title: string,
  error: unknown,
  what: string
): HTMLElement {
  const node = sectionNode(title, what);
  const text = document.createElement('p');
  text.className = 'jp-MrsmPanel-status jp-mod-error';
  text.textContent = errorText(error, what);
  node.append(text);
  return node;
}

function empty(text: string): HTMLElement {
  const node = document.createElement('p');
  node.className = 'jp-MrsmPanel-empty';
  node.textContent = text;
  return node;
}

function list(items: HTMLElement[]): HTMLUListElement {
  const node = document.createElement('ul');
  node.append(...items);
  return node;
}
