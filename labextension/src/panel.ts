// The "Meerschaum" sidebar panel: an instance selector, the pipes as a tree with their facts
// and actions, the jobs with live states, and the "new pipe" form, all over the REST API.
import { Widget } from '@lumino/widgets';

import {
  InstanceInfo,
  PipeInfo,
  listInstances,
  listJobs,
  listPipes
} from './api';
import {
  button,
  empty,
  errorSection,
  errorText,
  sectionNode
} from './elements';
import { meerschaumIcon } from './icon';
import { jobsSection } from './jobs';
import { newPipeDialog } from './newPipe';
import { loadFacts, pipeTree } from './tree';

export const PANEL_ID = 'mrsm-jupyter-sidebar';
/** The instance selector's value meaning "every instance". */
export const ALL_INSTANCES = '';

/** The user's settings (schema/plugin.json). */
export interface SidebarSettings {
  /** Instance keys selected at start; '' for every instance. */
  defaultInstance: string;
  /** Seconds between refreshes of the jobs' states; 0 turns it off. */
  refreshInterval: number;
}

/** What the panel needs from the application. */
export interface PanelOptions {
  insertCode(code: string): Promise<boolean>;
  openLog(jobName: string): void;
}

export class MeerschaumPanel extends Widget {
  constructor(private readonly _options: PanelOptions) {
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
    const newPipe = button('+ Pipe', 'Register a new pipe', () =>
      this.newPipe()
    );
    const refresh = button('↻', 'Reload instances, pipes and jobs', () =>
      this.refresh()
    );
    refresh.classList.add('jp-MrsmPanel-refresh');
    header.append(heading, newPipe, refresh);

    this._status = document.createElement('p');
    this._status.className = 'jp-MrsmPanel-status';
    this._status.setAttribute('role', 'status');
    this._instance = document.createElement('select');
    this._instance.className = 'jp-MrsmPanel-instanceSelect';
    this._instance.setAttribute('aria-label', 'Instance');
    this._instance.addEventListener('change', () => void this._reloadPipes());
    this._filter = input('Filter by connector, metric or location', () =>
      this._applyFilter()
    );
    this._filter.classList.add('jp-MrsmPanel-filter');
    this._tags = input(
      'Tags (comma-separated)',
      () => void this._reloadPipes()
    );
    this._tags.classList.add('jp-MrsmPanel-tags');
    this._pipes = document.createElement('div');
    this._jobs = document.createElement('div');
    this._content = document.createElement('div');
    this._content.className = 'jp-MrsmPanel-content';
    this.node.append(header, this._status, this._content);
  }

  /** Apply new settings: select the default instance, restart the refresh timer. */
  configure(settings: SidebarSettings): void {
    const instanceChanged =
      settings.defaultInstance !== this._settings.defaultInstance;
    this._settings = settings;
    // Settings load after the first refresh: select the new default if it is listed.
    const listed = [...this._instance.options].some(
      o => o.value === settings.defaultInstance
    );
    if (instanceChanged && listed) {
      this._instance.value = settings.defaultInstance;
      void this._reloadPipes();
    }
    window.clearInterval(this._timer);
    if (settings.refreshInterval > 0) {
      // Only while the panel shows: a hidden sidebar asks nothing of the server.
      this._timer = window.setInterval(() => {
        if (this.isVisible) {
          void this._reloadJobs();
        }
      }, settings.refreshInterval * 1000);
    }
  }

  /** Fetch instances, pipes and jobs and render them; a newer call wins over an older one. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this._showStatus('Loading…');
    let instances: InstanceInfo[];
    try {
      instances = await listInstances();
    } catch (error) {
      if (generation === this._generation) {
        this._content.replaceChildren();
        this._showStatus(errorText(error, 'load instances'), true);
      }
      return;
    }
    if (generation !== this._generation) {
      return;
    }
    this._status.hidden = true;
    this._renderInstances(instances);
    const pipes = sectionNode('Pipes', 'pipes');
    pipes.append(this._filter, this._tags, this._pipes);
    this._content.replaceChildren(this._instancesNode(), pipes, this._jobs);
    await Promise.all([this._reloadPipes(), this._reloadJobs()]);
  }

  /** Show the "new pipe" form; register and list the pipe. */
  async newPipe(): Promise<void> {
    const keys = [...this._instance.options]
      .map(o => o.value)
      .filter(v => v !== ALL_INSTANCES);
    const selected =
      this._instance.value === ALL_INSTANCES ? keys[0] : this._instance.value;
    try {
      if ((await newPipeDialog(keys, selected ?? 'sql:local')) !== null) {
        await this._reloadPipes();
      }
    } catch (error) {
      this._showStatus(errorText(error, 'register the pipe'), true);
    }
  }

  protected override onAfterAttach(): void {
    void this.refresh();
  }

  protected override onBeforeDetach(): void {
    this._observer?.disconnect();
  }

  override dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  private _renderInstances(instances: InstanceInfo[]): void {
    const previous = this._instance.value;
    const wanted =
      this._instance.options.length > 0
        ? previous
        : this._settings.defaultInstance;
    this._instance.replaceChildren(new Option('All instances', ALL_INSTANCES));
    for (const i of instances) {
      this._instance.append(new Option(`${i.keys} (${i.flavor})`, i.keys));
    }
    const known = instances.some(i => i.keys === wanted);
    this._instance.value = known ? wanted : ALL_INSTANCES;
  }

  private _instancesNode(): HTMLElement {
    const node = sectionNode('Instance', 'instances');
    node.append(this._instance);
    return node;
  }

  private async _reloadPipes(): Promise<void> {
    const generation = ++this._pipesGeneration;
    const instance = this._instance.value;
    const tags = this._tags.value
      .split(',')
      .map(t => t.trim())
      .filter(t => t !== '');
    let pipes: PipeInfo[];
    try {
      pipes = await listPipes(
        instance === ALL_INSTANCES ? undefined : instance,
        tags
      );
    } catch (error) {
      this._pipes.replaceChildren(errorSection('', error, 'pipes'));
      return;
    }
    if (generation === this._pipesGeneration) {
      this._renderPipes(pipes);
    }
  }

  private _renderPipes(pipes: PipeInfo[]): void {
    this._observer?.disconnect();
    if (pipes.length === 0) {
      this._pipes.replaceChildren(empty('No pipes registered.'));
      return;
    }
    // Fetch each pipe's facts only once its leaf scrolls into view.
    const pending = new Map<Element, PipeInfo>();
    const observer = new IntersectionObserver(entries => {
      for (const entry of entries) {
        const pipe = pending.get(entry.target);
        if (entry.isIntersecting && pipe !== undefined) {
          pending.delete(entry.target);
          observer.unobserve(entry.target);
          void loadFacts(pipe, entry.target as HTMLElement);
        }
      }
    });
    this._observer = observer;
    const actions = {
      insertCode: (code: string) => this._options.insertCode(code),
      pipeRemoved: () => void this._reloadPipes()
    };
    const groups: HTMLElement[] = [];
    const instances = [...new Set(pipes.map(p => p.instance_keys))];
    for (const keys of instances) {
      const group = document.createElement('div');
      group.className = 'jp-MrsmPanel-instanceGroup';
      group.dataset.instance = keys;
      const title = document.createElement('h4');
      title.textContent = keys;
      const onInstance = pipes.filter(p => p.instance_keys === keys);
      group.append(
        title,
        pipeTree(onInstance, actions, (item, pipe) => {
          pending.set(item, pipe);
          observer.observe(item);
        })
      );
      groups.push(group);
    }
    this._noMatch = empty('No pipes match the filter.');
    this._pipes.replaceChildren(...groups, this._noMatch);
    this._applyFilter();
  }

  /** Hide leaves whose keys do not contain every word of the filter, then empty branches. */
  private _applyFilter(): void {
    const words = this._filter.value.trim().toLowerCase().split(/\s+/);
    let shown = 0;
    for (const item of this._pipes.querySelectorAll<HTMLElement>(
      '.jp-MrsmPanel-pipe'
    )) {
      const keys = item.dataset.search ?? '';
      item.hidden = !words.every(w => keys.includes(w));
      shown += item.hidden ? 0 : 1;
    }
    for (const node of [
      ...this._pipes.querySelectorAll<HTMLElement>('.jp-MrsmPanel-metric'),
      ...this._pipes.querySelectorAll<HTMLElement>('.jp-MrsmPanel-connector'),
      ...this._pipes.querySelectorAll<HTMLElement>(
        '.jp-MrsmPanel-instanceGroup'
      )
    ]) {
      node.hidden =
        node.querySelector('.jp-MrsmPanel-pipe:not([hidden])') === null;
    }
    if (this._noMatch !== null) {
      this._noMatch.hidden = shown > 0;
    }
  }

  private async _reloadJobs(): Promise<void> {
    let section: HTMLElement;
    try {
      section = jobsSection(await listJobs(), name =>
        this._options.openLog(name)
      );
    } catch (error) {
      section = errorSection('Jobs', error, 'jobs');
    }
    if (this._content.contains(this._jobs)) {
      this._jobs.replaceWith(section);
    }
    this._jobs = section;
  }

  private _showStatus(text: string, isError = false): void {
    this._status.hidden = false;
    this._status.textContent = text;
    this._status.classList.toggle('jp-mod-error', isError);
  }

  private readonly _status: HTMLParagraphElement;
  private readonly _instance: HTMLSelectElement;
  private readonly _filter: HTMLInputElement;
  private readonly _tags: HTMLInputElement;
  private readonly _pipes: HTMLDivElement;
  private readonly _content: HTMLDivElement;
  private _jobs: HTMLElement;
  private _noMatch: HTMLElement | null = null;
  private _observer: IntersectionObserver | null = null;
  private _generation = 0;
  private _pipesGeneration = 0;
  private _timer = 0;
  private _settings: SidebarSettings = {
    defaultInstance: ALL_INSTANCES,
    refreshInterval: 10
  };
}

function input(label: string, onInput: () => void): HTMLInputElement {
  const node = document.createElement('input');
  node.type = 'search';
  node.placeholder = label;
  node.setAttribute('aria-label', label);
  node.addEventListener('input', onInput);
  return node;
}
