import { LabIcon } from '@jupyterlab/ui-components';

// Three stacked time-series bars: the sidebar tab's icon. `jp-icon3` lets the
// theme recolor it.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="4" width="18" height="3" rx="1.5"/>
    <rect x="3" y="10.5" width="12" height="3" rx="1.5"/>
    <rect x="3" y="17" width="15" height="3" rx="1.5"/>
  </g>
</svg>`;

export const meerschaumIcon = new LabIcon({
  name: 'mrsm-jupyter:meerschaum',
  svgstr
});
