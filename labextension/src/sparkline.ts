// A tiny inline SVG chart of a pipe's rows per time bucket (no charting library: a polyline).

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Sizes of the sparkline's drawing box, in CSS pixels. */
export const SPARKLINE_WIDTH = 64;
export const SPARKLINE_HEIGHT = 16;

/**
 * The polyline's `points` for `counts`: x spread over the width, y scaled to the largest
 * count (0 at the bottom, with one pixel of margin so the stroke is not clipped).
 *
 * @example
 * sparklinePoints([0, 2], 10, 4); // '0.0,3.0 10.0,1.0'
 */
export function sparklinePoints(
  counts: number[],
  width: number,
  height: number
): string {
  const top = Math.max(1, ...counts);
  const step = counts.length > 1 ? width / (counts.length - 1) : 0;
  return counts
    .map((count, i) => {
      const y = height - 1 - (count / top) * (height - 2);
      return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** An `<svg>` sparkline of `counts`, titled with what it shows. */
export function sparkline(counts: number[], title: string): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'jp-MrsmPanel-sparkline');
  svg.setAttribute('width', String(SPARKLINE_WIDTH));
  svg.setAttribute('height', String(SPARKLINE_HEIGHT));
  svg.setAttribute('viewBox', `0 0 ${SPARKLINE_WIDTH} ${SPARKLINE_HEIGHT}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  svg.dataset.counts = counts.join(',');
  const tooltip = document.createElementNS(SVG_NS, 'title');
  tooltip.textContent = title;
  const line = document.createElementNS(SVG_NS, 'polyline');
  // One bucket draws as a flat line across the box.
  const points = counts.length === 1 ? [counts[0], counts[0]] : counts;
  line.setAttribute(
    'points',
    sparklinePoints(points, SPARKLINE_WIDTH, SPARKLINE_HEIGHT)
  );
  svg.append(tooltip, line);
  return svg;
}
