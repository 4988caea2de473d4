/**
 * The per-image timeline: one lane per device (owner first), its input going out, waiting,
 * computing and its result coming back, on the owner's clock; ⚠ where a worker failed and the
 * owner recomputed its share. Hover, tap or focus a bar (arrow keys move between bars) to read its
 * numbers in the line under the chart. Below the lanes, a thin "overlap" row marks when some
 * transfer and some computation ran at once (what pipelining buys). An inline SVG redrawn at the container's pixel width, so
 * text stays readable from a 390 px phone up. Layout and words: timeline-layout.ts.
 */
import { h } from './dom.ts';
import { formatBytes, formatMs } from './format.ts';
import {
  describeMarker,
  describeOverlap,
  describeSegment,
  describeSummary,
  layoutTimeline,
  niceTicks,
  type TimelineInput,
  type TimelineLane,
  type TimelineLayout,
  type TimelineMarker,
  type TimelineSegment,
} from './timeline-layout.ts';
import './timeline.css';

export type { TimelineInput } from './timeline-layout.ts';

export interface TimelineOptions {
  /** Width to draw at before the container is measured, px. Default 640. */
  width?: number;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number | undefined> = {}, ...children: (Node | string | null)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, typeof value === 'number' ? String(Math.round(value * 100) / 100) : value);
  for (const child of children) if (child !== null) el.append(child);
  return el;
}

const PAD_X = 10;
const AXIS_H = 24;
const LABEL_H = 17;
const BAR_H = 22;
const LANE_GAP = 8;
const LANE_H = LABEL_H + BAR_H + LANE_GAP;
const MIN_SEG_W = 2;
const OVERLAP_BAND_H = 6;
const OVERLAP_ROW_H = LABEL_H + OVERLAP_BAND_H + LANE_GAP;

let instances = 0;

/** One focusable thing on the chart: a segment or a marker. */
interface Item {
  lane: number;
  segment?: TimelineSegment;
  marker?: TimelineMarker;
  startMs: number;
  endMs: number;
  text: string;
  el?: SVGElement;
}

function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`;
}

function laneCaption(lane: TimelineLane): string {
  const t = lane.totals;
  if (lane.device === null) return 'left out';
  const parts = [`${Math.round(t.busyFraction * 100)}% busy`];
  if (!lane.isOwner && t.transferMs > 0) parts.push(`transfer ${formatMs(t.transferMs)}`);
  if (lane.isOwner && t.recoveries > 0) parts.push(`${t.recoveries} recovered`);
  if (!lane.isOwner && t.recoveries > 0) parts.push('failed');
  return parts.join(' · ');
}

/** The legend, for what this chart shows. */
function legend(layout: TimelineLayout): HTMLElement {
  const segments = layout.lanes.flatMap((l) => l.segments);
  const has = (kind: string) => segments.some((seg) => seg.kind === kind);
  const item = (show: boolean, cls: string, text: string) => (show ? h('li', {}, h('span', { class: `tl-swatch ${cls}`, 'aria-hidden': 'true' }), text) : null);
  const markers = layout.lanes.some((l) => l.markers.length > 0);
  return h(
    'ul',
    { class: 'tl-legend', 'aria-label': 'Legend' },
    item(true, 'tl-sw-compute', 'computing (solid)'),
    item(has('send'), 'tl-sw-send', 'input sent (stripes ╱)'),
    item(has('receive'), 'tl-sw-receive', 'result back (stripes ╲)'),
    item(has('wait'), 'tl-sw-wait', 'waiting / unknown split (dashed)'),
    item(segments.some((seg) => seg.details.recoveryOf), 'tl-sw-recovery', 'owner recomputing a worker’s share (red edge)'),
    item(layout.overlaps.length > 0, 'tl-sw-overlap', 'overlap: a transfer and a computation at once'),
    markers ? h('li', {}, h('span', { class: 'tl-swatch-mark', 'aria-hidden': 'true' }, '⚠'), 'worker failed (△: already out, share ran on the owner)') : null,
  );
}

function totalsTable(layout: TimelineLayout): HTMLElement {
  const row = (lane: TimelineLane) => {
    const t = lane.totals;
    const none = t.tasks === 0;
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, lane.label),
      h('td', {}, `${Math.round(t.busyFraction * 100)}%`),
      h('td', {}, none ? '–' : formatMs(t.computeMs)),
      h('td', {}, lane.isOwner || none ? '–' : formatMs(t.transferMs)),
      h('td', {}, lane.isOwner || none ? '–' : formatMs(t.waitMs)),
      h('td', { class: 'tl-col-bytes' }, lane.isOwner || none ? '–' : `${formatBytes(t.bytesOut)} / ${formatBytes(t.bytesIn)}`),
      h('td', {}, String(t.tasks)),
    );
  };
  return h(
    'div',
    { class: 'tl-table-wrap' },
    h(
      'table',
      { class: 'tl-table' },
      h('caption', { class: 'tl-visually-hidden' }, 'Time per device'),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'device'), h('th', { scope: 'col' }, 'busy'), h('th', { scope: 'col' }, 'compute'), h('th', { scope: 'col' }, 'transfer'), h('th', { scope: 'col' }, 'wait'), h('th', { scope: 'col', class: 'tl-col-bytes' }, 'sent / back'), h('th', { scope: 'col' }, 'tasks')),
      ),
      h('tbody', {}, ...layout.lanes.map(row)),
    ),
  );
}

/** Builds the timeline for one image's trace. */
export function renderTimeline(input: TimelineInput, options: TimelineOptions = {}): HTMLElement {
  const layout = layoutTimeline(input);
  const id = `tl${++instances}`;
  const hint = 'Hover, tap or focus a bar to see its numbers; arrow keys move between bars.';
  const details = h('p', { class: 'tl-details', 'aria-live': 'polite' }, hint);
  const chart = h('div', { class: 'tl-chart' });
  const caption = h('figcaption', { class: 'tl-summary' }, describeSummary(layout.summary));
  const nothing = layout.summary.tasks === 0 && layout.lanes.every((l) => l.markers.length === 0);
  if (nothing) return h('figure', { class: 'tl tl-empty' }, caption);
  const figure = h('figure', { class: 'tl' }, caption, chart, details, legend(layout), totalsTable(layout));

  // Segments and markers in reading order: lane by lane, by time.
  const items: Item[] = [];
  layout.lanes.forEach((lane, laneIndex) => {
    const laneItems: Item[] = [
      ...lane.segments.map((segment) => ({ lane: laneIndex, segment, startMs: segment.startMs, endMs: segment.endMs, text: describeSegment(lane, segment) })),
      ...lane.markers.map((marker) => ({ lane: laneIndex, marker, startMs: marker.atMs ?? 0, endMs: marker.atMs ?? 0, text: describeMarker(lane, marker) })),
    ];
    laneItems.sort((a, b) => a.startMs - b.startMs);
    items.push(...laneItems);
  });

  let selected = -1;
  let current = 0;
  const show = (index: number) => {
    details.textContent = items[index]?.text ?? hint;
  };
  const select = (index: number, focus: boolean) => {
    const item = items[index];
    if (!item) return;
    items[selected]?.el?.classList.remove('tl-selected');
    items[current]?.el?.setAttribute('tabindex', '-1');
    selected = current = index;
    item.el?.classList.add('tl-selected');
    item.el?.setAttribute('tabindex', '0');
    show(index);
    if (focus) item.el?.focus({ preventScroll: true });
  };

  let width = Math.max(280, Math.round(options.width ?? 640));
  const draw = () => {
    const W = width;
    const showOverlap = layout.summary.transferUnionMs > 0;
    const lanesH = AXIS_H + layout.lanes.length * LANE_H;
    const H = lanesH + (showOverlap ? OVERLAP_ROW_H : 0);
    const span = layout.summary.spanMs > 0 ? layout.summary.spanMs : 1;
    const plotW = W - 2 * PAD_X;
    const x = (ms: number) => PAD_X + (Math.min(Math.max(ms, 0), span) / span) * plotW;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', class: 'tl-svg', role: 'group', 'aria-label': `Timeline of ${layout.lanes.length} device${layout.lanes.length === 1 ? '' : 's'} over ${formatMs(layout.summary.totalMs)}` });
    svg.append(
      s(
        'defs',
        {},
        s('pattern', { id: `${id}-send`, patternUnits: 'userSpaceOnUse', width: 7, height: 7, patternTransform: 'rotate(45)' }, s('rect', { width: 7, height: 7, class: 'tl-pat-send-bg' }), s('rect', { width: 3.5, height: 7, class: 'tl-pat-send' })),
        s('pattern', { id: `${id}-receive`, patternUnits: 'userSpaceOnUse', width: 7, height: 7, patternTransform: 'rotate(-45)' }, s('rect', { width: 7, height: 7, class: 'tl-pat-receive-bg' }), s('rect', { width: 3.5, height: 7, class: 'tl-pat-receive' })),
      ),
    );

    // Axis: ticks on top, faint grid lines through the lanes.
    const ticks = niceTicks(span, Math.max(2, Math.floor(plotW / 70)));
    const axis = s('g', { class: 'tl-axis', 'aria-hidden': 'true' });
    ticks.forEach((t, i) => {
      const tx = x(t);
      const last = i === ticks.length - 1;
      const anchor = i === 0 ? 'start' : last && tx > W - PAD_X - 30 ? 'end' : 'middle';
      const label = `${Number(t.toPrecision(6))}${last ? ' ms' : ''}`;
      axis.append(s('line', { x1: tx, x2: tx, y1: AXIS_H - 5, y2: H - LANE_GAP, class: 'tl-grid' }), s('text', { x: tx, y: AXIS_H - 9, 'text-anchor': anchor, class: 'tl-tick' }, label));
    });
    axis.append(s('line', { x1: PAD_X, x2: W - PAD_X, y1: AXIS_H - 1, y2: AXIS_H - 1, class: 'tl-axis-line' }));
    svg.append(axis);

    const maxChars = Math.max(12, Math.floor(plotW / 7));
    layout.lanes.forEach((lane, laneIndex) => {
      const y0 = AXIS_H + laneIndex * LANE_H;
      const barY = y0 + LABEL_H;
      const g = s('g', { class: `tl-lane${lane.isOwner ? ' tl-lane-owner' : ''}`, 'data-device': lane.deviceId });
      const caption = laneCaption(lane);
      const name = truncate(lane.label, Math.max(8, maxChars - caption.length - 3));
      g.append(
        s('text', { x: PAD_X, y: y0 + LABEL_H - 5, class: 'tl-lane-label' }, s('tspan', { class: 'tl-lane-name' }, name), s('tspan', { class: 'tl-lane-caption' }, `  ${caption}`)),
        s('rect', { x: PAD_X, y: barY, width: plotW, height: BAR_H, rx: 3, class: 'tl-lane-bg' }),
      );
      if (lane.device === null && lane.failedReason !== undefined) {
        g.append(s('text', { x: PAD_X + 26, y: barY + BAR_H / 2 + 4, class: 'tl-lane-note' }, truncate(`left out: ${lane.failedReason}`, maxChars - 4)));
      }
      svg.append(g);
    });
    if (showOverlap) {
      const bandY = lanesH + LABEL_H;
      svg.append(
        s(
          'g',
          { class: 'tl-overlap', role: 'img', 'aria-label': describeOverlap(layout.summary), 'data-field': 'overlap-row' },
          s('text', { x: PAD_X, y: lanesH + LABEL_H - 5, class: 'tl-lane-label' }, s('tspan', { class: 'tl-lane-name' }, 'overlap'), s('tspan', { class: 'tl-lane-caption' }, `  ${formatMs(layout.summary.overlapMs)}`)),
          s('rect', { x: PAD_X, y: bandY, width: plotW, height: OVERLAP_BAND_H, rx: 2, class: 'tl-lane-bg' }),
          ...layout.overlaps.map((o) => s('rect', { x: x(o.startMs), y: bandY, width: Math.max(1, x(o.endMs) - x(o.startMs)), height: OVERLAP_BAND_H, class: 'tl-overlap-band' })),
        ),
      );
    }

    // Segments and markers, in `items` order (markers come after the segments of their lane's
    // time, and sit on top).
    const laneGroups = [...svg.querySelectorAll<SVGGElement>('g.tl-lane')];
    items.forEach((item, index) => {
      const barY = AXIS_H + item.lane * LANE_H + LABEL_H;
      let el: SVGElement;
      if (item.segment) {
        const seg = item.segment;
        const x0 = x(seg.startMs);
        const w = Math.max(MIN_SEG_W, x(seg.endMs) - x0);
        const inset = seg.kind === 'wait' ? 3 : 0;
        el = s('rect', {
          x: Math.min(x0, W - PAD_X - w),
          y: barY + 1 + inset,
          width: w,
          height: BAR_H - 2 - 2 * inset,
          class: `tl-seg tl-${seg.kind}${seg.details.recoveryOf ? ' tl-recovery' : ''}`,
          fill: seg.kind === 'send' || seg.kind === 'receive' ? `url(#${id}-${seg.kind})` : undefined,
        });
      } else {
        const m = item.marker as TimelineMarker;
        const mx = m.atMs === null ? PAD_X + 12 : Math.min(Math.max(x(m.atMs), PAD_X + 8), W - PAD_X - 8);
        const big = m.kind === 'failure';
        const r = big ? 9 : 6;
        const top = barY + BAR_H / 2 - r;
        el = s(
          'g',
          { class: `tl-marker tl-marker-${m.kind}` },
          // A wide invisible hit area for fingers.
          s('rect', { x: mx - 12, y: barY - 2, width: 24, height: BAR_H + 4, class: 'tl-hit' }),
          s('path', { d: `M ${mx} ${top} L ${mx + r * 1.15} ${top + 2 * r} L ${mx - r * 1.15} ${top + 2 * r} Z`, class: 'tl-marker-shape' }),
          big ? s('text', { x: mx, y: top + 2 * r - 3, 'text-anchor': 'middle', class: 'tl-marker-text' }, '!') : null,
        );
      }
      el.setAttribute('tabindex', index === current ? '0' : '-1');
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', item.text);
      el.setAttribute('data-index', String(index));
      if (index === selected) el.classList.add('tl-selected');
      item.el = el;
      laneGroups[item.lane]?.append(el);
    });
    // Markers above the bars they sit on.
    for (const g of laneGroups) for (const marker of [...g.querySelectorAll('.tl-marker')]) g.append(marker);

    // Pointer: nearest item in the lane under the finger or mouse (thin bars are hard to hit).
    const nearest = (ev: PointerEvent | MouseEvent): number => {
      const box = svg.getBoundingClientRect();
      if (box.width <= 0 || box.height <= 0) return -1;
      const vx = ((ev.clientX - box.left) * W) / box.width;
      const vy = ((ev.clientY - box.top) * H) / box.height;
      const lane = Math.floor((vy - AXIS_H) / LANE_H);
      if (lane < 0 || lane >= layout.lanes.length) return -1;
      const t = ((vx - PAD_X) / plotW) * span;
      let best = -1;
      let bestDist = Infinity;
      items.forEach((item, i) => {
        if (item.lane !== lane) return;
        const isMarker = item.marker !== undefined;
        const d = t < item.startMs ? item.startMs - t : t > item.endMs ? t - item.endMs : 0;
        const px = (d / span) * plotW - (isMarker ? 10 : 0);
        if (px < bestDist) {
          bestDist = px;
          best = i;
        }
      });
      return bestDist <= 16 ? best : -1;
    };
    svg.addEventListener('pointermove', (ev) => {
      if (ev.pointerType !== 'mouse') return;
      const i = nearest(ev);
      if (i >= 0) show(i);
      else show(selected);
    });
    svg.addEventListener('pointerleave', () => show(selected));
    svg.addEventListener('click', (ev) => {
      const i = nearest(ev);
      if (i >= 0) select(i, true);
    });
    svg.addEventListener('focusin', (ev) => {
      const index = Number((ev.target as Element).getAttribute('data-index'));
      if (Number.isInteger(index) && index !== selected) select(index, false);
    });
    svg.addEventListener('keydown', (ev) => {
      const item = items[current];
      if (!item) return;
      let next = -1;
      if (ev.key === 'ArrowRight') next = Math.min(items.length - 1, current + 1);
      else if (ev.key === 'ArrowLeft') next = Math.max(0, current - 1);
      else if (ev.key === 'Home') next = 0;
      else if (ev.key === 'End') next = items.length - 1;
      else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        const step = ev.key === 'ArrowDown' ? 1 : -1;
        const mid = (item.startMs + item.endMs) / 2;
        for (let lane = item.lane + step; lane >= 0 && lane < layout.lanes.length; lane += step) {
          let best = -1;
          let bestDist = Infinity;
          items.forEach((other, i) => {
            if (other.lane !== lane) return;
            const d = Math.abs((other.startMs + other.endMs) / 2 - mid);
            if (d < bestDist) {
              bestDist = d;
              best = i;
            }
          });
          if (best >= 0) {
            next = best;
            break;
          }
        }
      } else return;
      ev.preventDefault();
      if (next >= 0) select(next, true);
    });
    chart.replaceChildren(svg);
  };
  draw();

  // Redraw at the container's own pixel width so text keeps its size on any screen.
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver((entries) => {
      const measured = Math.round(entries[0]?.contentRect.width ?? 0);
      if (measured >= 200 && Math.abs(measured - width) >= 2) {
        const hadFocus = chart.contains(document.activeElement);
        width = measured;
        draw();
        if (hadFocus) items[current]?.el?.focus({ preventScroll: true });
      }
    }).observe(chart);
  }
  return figure;
}
