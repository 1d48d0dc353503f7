// What a pipe's toolbar in the sidebar does: sync, verify, clear, delete (the last two after
// a confirmation) and "open in a notebook cell".
import { Dialog, showDialog } from '@jupyterlab/apputils';

import { PipeInfo, clearPipe, deletePipe, syncPipe, verifyPipe } from './api';
import { button, errorText } from './elements';

/** What the toolbar needs from the application. */
export interface PipeActions {
  /** Put `code` into a new cell of the active notebook; false when no notebook is open. */
  insertCode(code: string): Promise<boolean>;
  /** The pipe is gone: reload the list. */
  pipeRemoved(): void;
}

/** A Python string literal (JSON's escaping is valid Python for these keys). */
function pyString(text: string): string {
  return JSON.stringify(text);
}

/**
 * Python code that opens the pipe and shows its newest rows.
 *
 * @example
 * pipeCode({connector_keys: 'demo', metric_key: 'temperature', location_key: null,
 *           instance_keys: 'sql:local'});
 */
export function pipeCode(pipe: PipeInfo): string {
  const keys = [pipe.connector_keys, pipe.metric_key];
  const location =
    pipe.location_key === null ? 'None' : pyString(pipe.location_key);
  return [
    'import mrsm_jupyter as mrsm',
    '',
    `pipe = mrsm.Pipe(${keys.map(pyString).join(', ')}, ${location}, instance=${pyString(pipe.instance_keys)})`,
    'pipe.get_backtrack_data(backtrack_minutes=1440)'
  ].join('\n');
}

/** Ask before a destructive action; true when the user confirmed. */
async function confirm(
  title: string,
  body: string,
  label: string
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
  });
  return result.button.accept;
}

/** The toolbar of one pipe; `message` shows outcomes, `reload` refreshes the pipe's facts. */
export function pipeActionButtons(
  pipe: PipeInfo,
  actions: PipeActions,
  message: HTMLElement,
  reload: () => Promise<void>
): HTMLElement {
  const name = [pipe.connector_keys, pipe.metric_key, pipe.location_key]
    .filter(k => k !== null)
    .join(' / ');
  const run =
    (what: string, action: () => Promise<string | null>) =>
    async (): Promise<void> => {
      message.classList.remove('jp-mod-error');
      message.textContent = `${what}…`;
      try {
        const outcome = await action();
        message.textContent = outcome ?? '';
        await reload();
      } catch (error) {
        message.classList.add('jp-mod-error');
        message.textContent = errorText(error, `${what.toLowerCase()} ${name}`);
      }
    };
  const toolbar = document.createElement('div');
  toolbar.className = 'jp-MrsmPanel-pipeActions';
  toolbar.hidden = true;
  toolbar.append(
    button(
      'Sync',
      `Sync ${name} from its source`,
      run('Syncing', async () => (await syncPipe(pipe)).message)
    ),
    button(
      'Verify',
      `Verify ${name} against its source`,
      run('Verifying', async () => (await verifyPipe(pipe)).message)
    ),
    button(
      'Clear',
      `Delete every row of ${name}`,
      run('Clearing', async () => {
        const ok = await confirm(
          'Clear pipe',
          `Delete every row of ${name} on ${pipe.instance_keys}? The registration stays.`,
          'Clear'
        );
        return ok ? (await clearPipe(pipe)).message : null;
      })
    ),
    button(
      'Delete',
      `Drop the table of ${name} and remove its registration`,
      run('Deleting', async () => {
        const ok = await confirm(
          'Delete pipe',
          `Drop the table of ${name} on ${pipe.instance_keys} and remove its registration?`,
          'Delete'
        );
        if (!ok) {
          return null;
        }
        const outcome = (await deletePipe(pipe)).message;
        actions.pipeRemoved();
        return outcome;
      })
    ),
    button(
      'Notebook',
      `Open ${name} in a new cell of the active notebook`,
      run('Inserting', async () =>
        (await actions.insertCode(pipeCode(pipe)))
          ? 'Inserted a cell into the notebook.'
          : 'Open a notebook first: the code goes into its active cell.'
      )
    )
  );
  return toolbar;
}
