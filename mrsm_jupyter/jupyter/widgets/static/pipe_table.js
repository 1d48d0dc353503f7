// The pipe table widget's view: a header (keys, instance, counts), the columns with their
// types, and one page of rows. Pages are read by the kernel; this view only asks for one by
// setting `page`. Shipped inside the Python package: no CDN, works offline.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderFacts(model) {
  const list = element('dl', 'mrsm-facts');
  for (const [label, value] of model.get('facts')) {
    list.append(element('dt', '', label), element('dd', '', value));
  }
  return list;
}

function renderColumns(model) {
  const list = element('div', 'mrsm-columns');
  for (const column of model.get('columns')) {
    const chip = element(
      'span',
      'mrsm-column',
      `${column.name}: ${column.type}`
    );
    if (column.role) chip.title = column.role;
    if (column.role) chip.classList.add(`mrsm-role-${column.role}`);
    list.append(chip);
  }
  return list;
}

function renderRows(model) {
  const table = element('table', 'mrsm-rows');
  const head = element('tr');
  for (const name of model.get('page_columns'))
    head.append(element('th', '', name));
  table.append(head);
  for (const row of model.get('page_rows')) {
    const line = element('tr');
    for (const cell of row) line.append(element('td', '', cell));
    table.append(line);
  }
  return table;
}

function renderPager(model) {
  const pager = element('div', 'mrsm-pager');
  const page = model.get('page');
  const go = target => {
    model.set('page', target);
    model.save_changes();
  };
  const first = element('button', '', '⏮ first');
  first.disabled = page === 0;
  first.onclick = () => go(0);
  const previous = element('button', '', '◀ previous');
  previous.disabled = page === 0;
  previous.onclick = () => go(page - 1);
  const next = element('button', '', 'next ▶');
  next.disabled = !model.get('has_next');
  next.onclick = () => go(page + 1);
  const where = element(
    'span',
    'mrsm-where',
    `page ${page + 1} of ${Math.max(model.get('page_count'), 1)}`
  );
  pager.append(first, previous, where, next);
  return pager;
}

function render({ model, el }) {
  const root = element('div', 'mrsm-pipe-table');
  const draw = () => {
    const title = element('div', 'mrsm-title', model.get('title'));
    const error = model.get('error')
      ? element('div', 'mrsm-error', model.get('error'))
      : '';
    root.replaceChildren(
      title,
      renderFacts(model),
      renderColumns(model),
      error,
      renderRows(model),
      renderPager(model)
    );
  };
  for (const name of [
    'title',
    'facts',
    'columns',
    'page_columns',
    'page_rows',
    'page',
    'page_count',
    'has_next',
    'error'
  ]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  el.append(root);
}

export default { render };
