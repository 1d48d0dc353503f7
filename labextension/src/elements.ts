// DOM builders shared by the sidebar's sections (pipes, jobs, the forms), and how errors read.
import { MrsmAPIError } from './api';

/** Shown when the REST namespace answers 404: the Python side is not loaded. */
export const SERVER_EXTENSION_MISSING =
  'The mrsm_jupyter server extension is not available. Install mrsm_jupyter ' +
  'in the Jupyter server environment, run ' +
  '`jupyter server extension enable mrsm_jupyter`, then restart Jupyter.';

/** The error as a sentence; a 404 means the server extension is not loaded. */
export function errorText(error: unknown, what: string): string {
  if (
    error instanceof MrsmAPIError &&
    error.serverExtensionMissing &&
    error.endPoint === 'instances'
  ) {
    return SERVER_EXTENSION_MISSING;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Could not ${what}: ${message}`;
}

/** A small JupyterLab-styled button; disabled while `onClick` runs. */
export function button(
  text: string,
  title: string,
  onClick: () => Promise<void>
): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'jp-Button jp-mod-minimal jp-MrsmPanel-button';
  node.textContent = text;
  node.title = title;
  node.setAttribute('aria-label', title);
  node.addEventListener('click', event => {
    event.stopPropagation();
    node.disabled = true;
    void onClick().finally(() => {
      node.disabled = false;
    });
  });
  return node;
}

export function sectionNode(title: string, name: string): HTMLElement {
  const node = document.createElement('section');
  node.className = `jp-MrsmPanel-section jp-MrsmPanel-${name}`;
  const heading = document.createElement('h3');
  heading.textContent = title;
  node.append(heading);
  return node;
}

export function errorSection(
  title: string,
  error: unknown,
  what: string
): HTMLElement {
  const node = sectionNode(title, what);
  const text = document.createElement('p');
  text.className = 'jp-MrsmPanel-status jp-mod-error';
  text.textContent = errorText(error, `load ${what}`);
  node.append(text);
  return node;
}

export function empty(text: string): HTMLElement {
  const node = document.createElement('p');
  node.className = 'jp-MrsmPanel-empty';
  node.textContent = text;
  return node;
}

export function list(items: HTMLElement[]): HTMLUListElement {
  const node = document.createElement('ul');
  node.append(...items);
  return node;
}

/** A `<span>` with a class and text. */
export function span(className: string, text = ''): HTMLSpanElement {
  const node = document.createElement('span');
  node.className = className;
  node.textContent = text;
  return node;
}
