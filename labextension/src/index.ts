import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { JobLogViewer } from './jobs';
import { MeerschaumPanel, SidebarSettings } from './panel';

const PLUGIN_ID = 'mrsm-jupyter-labextension:sidebar';
const PALETTE_CATEGORY = 'Meerschaum';

/** Command ids (also in the command palette). */
export const CommandIDs = {
  open: 'mrsm:open-sidebar',
  refresh: 'mrsm:refresh',
  newPipe: 'mrsm:new-pipe',
  openLog: 'mrsm:open-job-log'
} as const;

/**
 * Put `code` into a new cell below the active one of the current notebook, through
 * JupyterLab's own notebook commands; false when the current widget is not a notebook.
 */
async function insertCode(
  app: JupyterFrontEnd,
  code: string
): Promise<boolean> {
  if (!app.commands.isEnabled('notebook:insert-cell-below')) {
    return false;
  }
  await app.commands.execute('notebook:insert-cell-below');
  await app.commands.execute('notebook:replace-selection', { text: code });
  return true;
}

function readSettings(settings: ISettingRegistry.ISettings): SidebarSettings {
  return {
    defaultInstance: settings.get('defaultInstance').composite as string,
    refreshInterval: settings.get('refreshInterval').composite as number
  };
}

/** The log viewers open in the main area, one per job. */
function openLog(app: JupyterFrontEnd, name: string): void {
  const id = `mrsm-job-log-${name}`;
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id) {
      app.shell.activateById(id);
      return;
    }
  }
  const viewer = new JobLogViewer(name);
  const main = new MainAreaWidget({ content: viewer });
  main.id = id;
  main.title.label = viewer.title.label;
  main.title.caption = viewer.title.caption;
  main.title.closable = true;
  app.shell.add(main, 'main', { mode: 'split-right' });
  app.shell.activateById(id);
}

/** Adds the "Meerschaum" panel to the left sidebar, its commands and its settings. */
const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A left-sidebar panel for mrsm_jupyter: instances, pipes, jobs and their logs.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null
  ): void => {
    const panel = new MeerschaumPanel({
      insertCode: code => insertCode(app, code),
      openLog: name => openLog(app, name)
    });
    app.shell.add(panel, 'left', { rank: 800 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Meerschaum Sidebar',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Meerschaum Pipes and Jobs',
      execute: () => panel.refresh()
    });
    app.commands.addCommand(CommandIDs.newPipe, {
      label: 'New Meerschaum Pipe…',
      execute: async () => {
        app.shell.activateById(panel.id);
        await panel.newPipe();
      }
    });
    app.commands.addCommand(CommandIDs.openLog, {
      label: args => `Show the Log of Job ${args.name as string}`,
      execute: args => openLog(app, args.name as string)
    });
    for (const command of [
      CommandIDs.open,
      CommandIDs.refresh,
      CommandIDs.newPipe
    ]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }

    if (registry !== null) {
      void registry.load(PLUGIN_ID).then(settings => {
        panel.configure(readSettings(settings));
        settings.changed.connect(() => panel.configure(readSettings(settings)));
      });
    } else {
      panel.configure({ defaultInstance: '', refreshInterval: 10 });
    }
  }
};

export default [sidebarPlugin];
