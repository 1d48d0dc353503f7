// Pipes as a tree connector > metric > location, each leaf with its row count, newest sync
// time, a sparkline of rows over time, and its actions.
import {
  PipeInfo,
  WireBound,
  getRowcount,
  getRowcountBuckets,
  getSyncTime
} from './api';
import { button, errorText, list, span } from './elements';
import { PipeActions, pipeActionButtons } from './pipeActions';
import { sparkline } from './sparkline';

/** Shown as a leaf's name when the pipe has no location. */
export const NO_LOCATION = '(no location)';

/** `connector / metric[ / location]`. */
export function pipeKeysText(pipe: PipeInfo): string {
  const keys = [pipe.connector_keys, pipe.metric_key];
  if (pipe.location_key !== null) {
    keys.push(pipe.location_key);
  }
  return keys.join(' / ');
}

/**
 * A sync time for people: a UTC ISO string to the minute, an integer axis value as is, or
 * "no rows" (the full value is the facts' tooltip).
 *
 * @example
 * describeSyncTime('2024-01-04T05:50:00+00:00'); // 'newest 2024-01-04 05:50 UTC'
 */
export function describeSyncTime(syncTime: WireBound): string {
  if (syncTime === null) {
    return 'no rows';
  }
  const text = String(syncTime).replace(
    /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d(\.\d+)?(\+00:00|Z)$/,
    '$1 $2 UTC'
  );
  return `newest ${text}`;
}

/** Group pipes by a key, keeping first-seen order. */
function groupBy(
  pipes: PipeInfo[],
  key: (pipe: PipeInfo) => string
): Map<string, PipeInfo[]> {
  const groups = new Map<string, PipeInfo[]>();
  for (const pipe of pipes) {
    const name = key(pipe);
    groups.set(name, [...(groups.get(name) ?? []), pipe]);
  }
  return groups;
}

/** A collapsible tree node (`<details>`), open by default. */
function branch(
  level: 'connector' | 'metric',
  label: string,
  children: HTMLElement
): HTMLDetailsElement {
  const node = document.createElement('details');
  node.className = `jp-MrsmPanel-branch jp-MrsmPanel-${level}`;
  node.open = true;
  node.dataset[level] = label;
  const summary = document.createElement('summary');
  summary.textContent = label;
  node.append(summary, children);
  return node;
}

/**
 * The tree of `pipes` (of one instance); `onLeaf` gets each leaf so that its facts can be
 * fetched once it scrolls into view.
 */
export function pipeTree(
  pipes: PipeInfo[],
  actions: PipeActions,
  onLeaf: (item: HTMLLIElement, pipe: PipeInfo) => void
): HTMLElement {
  const connectors: HTMLElement[] = [];
  for (const [connector, ofConnector] of groupBy(
    pipes,
    p => p.connector_keys
  )) {
    const metrics: HTMLElement[] = [];
    for (const [metric, ofMetric] of groupBy(ofConnector, p => p.metric_key)) {
      const leaves = ofMetric.map(pipe => {
        const item = pipeLeaf(pipe, actions);
        onLeaf(item, pipe);
        return item;
      });
      metrics.push(branch('metric', metric, list(leaves)));
    }
    connectors.push(branch('connector', connector, list(metrics)));
  }
  const root = list(connectors);
  root.className = 'jp-MrsmPanel-tree';
  return root;
}

function pipeLeaf(pipe: PipeInfo, actions: PipeActions): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'jp-MrsmPanel-pipe';
  item.dataset.keys = pipeKeysText(pipe);
  item.dataset.search = pipeKeysText(pipe).replace(/ \/ /g, ' ').toLowerCase();
  item.title = `${pipeKeysText(pipe)} @ ${pipe.instance_keys}`;
  const row = document.createElement('div');
  row.className = 'jp-MrsmPanel-pipeRow';
  row.append(
    span('jp-MrsmPanel-pipeName', pipe.location_key ?? NO_LOCATION),
    span('jp-MrsmPanel-sparklineSlot')
  );
  const message = span('jp-MrsmPanel-pipeMessage');
  message.setAttribute('role', 'status');
  const reload = (): Promise<void> => loadFacts(pipe, item);
  const toolbar = pipeActionButtons(pipe, actions, message, reload);
  const more = button('⋯', `Actions for ${pipeKeysText(pipe)}`, () => {
    toolbar.hidden = !toolbar.hidden;
    return Promise.resolve();
  });
  more.classList.add('jp-MrsmPanel-more');
  row.append(more);
  item.append(row, span('jp-MrsmPanel-facts', '…'), toolbar, message);
  return item;
}

/** Fetch and show the pipe's row count, newest sync time and sparkline. */
export async function loadFacts(
  pipe: PipeInfo,
  item: HTMLElement
): Promise<void> {
  const facts = item.querySelector<HTMLElement>('.jp-MrsmPanel-facts');
  const slot = item.querySelector<HTMLElement>('.jp-MrsmPanel-sparklineSlot');
  if (facts === null || slot === null) {
    return;
  }
  const [rowcount, syncTime, buckets] = await Promise.allSettled([
    getRowcount(pipe),
    getSyncTime(pipe),
    getRowcountBuckets(pipe)
  ]);
  facts.textContent = [
    rowcount.status === 'fulfilled'
      ? `${rowcount.value.toLocaleString('en-US')} rows`
      : 'rows unknown',
    syncTime.status === 'fulfilled'
      ? describeSyncTime(syncTime.value)
      : 'sync time unknown'
  ].join(' · ');
  item.dataset.rowcount =
    rowcount.status === 'fulfilled' ? String(rowcount.value) : '';
  slot.replaceChildren();
  if (buckets.status === 'fulfilled' && buckets.value.counts.length > 0) {
    const { begin, end, counts } = buckets.value;
    slot.append(
      sparkline(counts, `Rows per time bucket from ${begin} to ${end}`)
    );
  }
  const failed = [rowcount, syncTime].find(r => r.status === 'rejected');
  facts.classList.toggle('jp-mod-error', failed !== undefined);
  facts.title =
    failed?.status === 'rejected'
      ? errorText(failed.reason, 'load the pipe facts')
      : `newest: ${String(syncTime.status === 'fulfilled' ? syncTime.value : '')}`;
}
