// The "Meerschaum" sidebar panel: lists instances and pipes from the server extension.
import { Widget } from '@lumino/widgets';

import {
  InstanceInfo,
  MrsmAPIError,
  PipeInfo,
  listInstances,
  listPipes
} from './api';
import { meerschaumIcon } from './icon';

export const PANEL_ID = 'mrsm-jupyter-sidebar';

/** Shown when the REST namespace answers 404: the Python side is not loaded. */
export const SERVER_EXTENSION_MISSING =
  'The mrsm_jupyter server extension is not available. Install mrsm_jupyter ' +
  'in the Jupyter server environment, run ' +
  '`jupyter server extension enable mrsm_jupyter`, then restart Jupyter.';

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
    const refresh = document.createElement('button');
    refresh.className = 'jp-Button jp-mod-minimal jp-MrsmPanel-refresh';
    refresh.textContent = 'Refresh';
    refresh.title = 'Reload instances and pipes';
    refresh.addEventListener('click', () => void this.refresh());
    header.append(heading, refresh);

    this._status = document.createElement('p');
    this._status.className = 'jp-MrsmPanel-status';
    this._content = document.createElement('div');
    this._content.className = 'jp-MrsmPanel-content';
    this.node.append(header, this._status, this._content);
  }

  /** Fetch instances and pipes and render them; a newer call wins over an older one. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this._showStatus('Loading…');
    try {
      const [instances, pipes] = await Promise.all([
        listInstances(),
        listPipes()
      ]);
      if (generation === this._generation) {
        this._render(instances, pipes);
      }
    } catch (error) {
      if (generation === this._generation) {
        this._showError(error);
      }
    }
  }

  protected override onAfterAttach(): void {
    void this.refresh();
  }

  private _render(instances: InstanceInfo[], pipes: PipeInfo[]): void {
    this._status.hidden = true;
    this._content.replaceChildren(
      section(
        'Instances',
        instances.map(i => `${i.keys} (${i.flavor})`),
        'No instances configured.'
      ),
      section('Pipes', pipes.map(describePipe), 'No pipes registered.')
    );
  }

  private _showStatus(text: string, isError = false): void {
    this._status.hidden = false;
    this._status.textContent = text;
    this._status.classList.toggle('jp-mod-error', isError);
  }

  private _showError(error: unknown): void {
    this._content.replaceChildren();
    if (error instanceof MrsmAPIError && error.serverExtensionMissing) {
      this._showStatus(SERVER_EXTENSION_MISSING, true);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      this._showStatus(`Could not load pipes: ${message}`, true);
    }
  }

  private readonly _status: HTMLParagraphElement;
  private readonly _content: HTMLDivElement;
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

function section(
  title: string,
  items: string[],
  emptyText: string
): HTMLElement {
  const node = document.createElement('section');
  const heading = document.createElement('h3');
  heading.textContent = title;
  node.append(heading);
  if (items.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'jp-MrsmPanel-empty';
    empty.textContent = emptyText;
    node.append(empty);
    return node;
  }
  const list = document.createElement('ul');
  for (const text of items) {
    const item = document.createElement('li');
    item.textContent = text;
    list.append(item);
  }
  node.append(list);
  return node;
}
