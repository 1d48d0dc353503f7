// The "new pipe" form: keys, instance and columns, registered through `POST pipes`.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { PipeInfo, RegisterRequest, registerPipe } from './api';

/** The form's fields: [name, label, placeholder]. */
const FIELDS: [string, string, string][] = [
  ['connector_keys', 'Connector', 'e.g. sql:src or demo'],
  ['metric_key', 'Metric', 'e.g. temperature'],
  ['location_key', 'Location', 'optional'],
  ['datetime', 'Datetime column', 'e.g. dt'],
  ['id', 'ID column', 'optional, e.g. station'],
  ['value', 'Value column', 'optional'],
  ['tags', 'Tags', 'optional, comma-separated'],
  ['definition', 'Fetch definition (SQL)', 'optional: SELECT ... FROM ...']
];

/** The form's values as a registration request; blank optional fields are left out. */
export function registerRequest(
  values: Record<string, string>,
  instanceKeys: string
): RegisterRequest {
  const text = (name: string): string => (values[name] ?? '').trim();
  const columns: Record<string, string> = {};
  for (const name of ['datetime', 'id', 'value']) {
    if (text(name) !== '') {
      columns[name] = text(name);
    }
  }
  const parameters: Record<string, unknown> = { columns };
  const tags = text('tags')
    .split(',')
    .map(t => t.trim())
    .filter(t => t !== '');
  if (tags.length > 0) {
    parameters.tags = tags;
  }
  if (text('definition') !== '') {
    parameters.fetch = { definition: text('definition') };
  }
  return {
    connector_keys: text('connector_keys'),
    metric_key: text('metric_key'),
    location_key: text('location_key') === '' ? null : text('location_key'),
    instance_keys: instanceKeys,
    parameters
  };
}

class NewPipeForm
  extends Widget
  implements Dialog.IBodyWidget<RegisterRequest>
{
  constructor(instances: string[], selected: string) {
    super();
    this.addClass('jp-MrsmNewPipe');
    const form = document.createElement('form');
    this._instance = document.createElement('select');
    this._instance.name = 'instance_keys';
    for (const keys of instances) {
      this._instance.append(new Option(keys, keys, false, keys === selected));
    }
    form.append(labelled('Instance', this._instance));
    for (const [name, label, placeholder] of FIELDS) {
      const input = document.createElement('input');
      input.name = name;
      input.placeholder = placeholder;
      input.setAttribute('aria-label', label);
      this._inputs.set(name, input);
      form.append(labelled(label, input));
    }
    this.node.append(form);
  }

  getValue(): RegisterRequest {
    const values: Record<string, string> = {};
    for (const [name, input] of this._inputs) {
      values[name] = input.value;
    }
    return registerRequest(values, this._instance.value);
  }

  private readonly _instance: HTMLSelectElement;
  private readonly _inputs = new Map<string, HTMLInputElement>();
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.className = 'jp-MrsmNewPipe-field';
  label.append(text, control);
  return label;
}

/**
 * Ask for a pipe's keys, instance and columns and register it; null when cancelled.
 * Registration errors propagate (the caller shows them).
 */
export async function newPipeDialog(
  instances: string[],
  selected: string
): Promise<PipeInfo | null> {
  const result = await showDialog({
    title: 'New pipe',
    body: new NewPipeForm(instances, selected),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Register' })],
    focusNodeSelector: 'input[name="connector_keys"]'
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return registerPipe(result.value);
}
