import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { MeerschaumPanel } from './panel';

/** Adds the "Meerschaum" panel to the left sidebar. */
const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'mrsm-jupyter-labextension:sidebar',
  description: 'A left-sidebar panel listing mrsm_jupyter instances and pipes.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null): void => {
    const panel = new MeerschaumPanel();
    app.shell.add(panel, 'left', { rank: 800 });
    restorer?.add(panel, panel.id);
  }
};

export default [sidebarPlugin];
