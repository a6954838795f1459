import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Schemas } from '../api/client';

type Daily = Schemas['DailyStatDto'][];

const DAY_SECONDS = 86_400;

/** Every day of the range, with zeros where nothing was called: a gap is a quiet day, not a missing line. */
function series(daily: Daily, startDate: string, endDate: string): [number[], number[], number[]] {
  const byDate = new Map(daily.map((day) => [day.date, day]));
  const days: number[] = [];
  const calls: number[] = [];
  const records: number[] = [];
  for (let at = Date.parse(`${startDate}T00:00:00Z`) / 1000; at <= Date.parse(`${endDate}T00:00:00Z`) / 1000; at += DAY_SECONDS) {
    const day = byDate.get(new Date(at * 1000).toISOString().slice(0, 10));
    days.push(at);
    calls.push(day?.call_count ?? 0);
    records.push(day?.total_records ?? 0);
  }
  return [days, calls, records];
}

/** Daily calls (left axis) and records (right axis), drawn with uPlot on a canvas. */
export function UsageChart({ daily, startDate, endDate }: { daily: Daily; startDate: string; endDate: string }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: 260,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'UTC'),
      scales: { x: { time: true }, calls: { auto: true }, records: { auto: true } },
      axes: [{}, { scale: 'calls', label: 'Calls' }, { scale: 'records', label: 'Records', side: 1, grid: { show: false } }],
      series: [
        { label: 'Day' },
        { label: 'Calls', scale: 'calls', stroke: '#2453c7', width: 2, fill: 'rgba(36,83,199,0.08)' },
        { label: 'Records', scale: 'records', stroke: '#c7662a', width: 2 },
      ],
    };
    const chart = new uPlot(options, series(daily, startDate, endDate), element);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, element.clientWidth), height: 260 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [daily, startDate, endDate]);
  const calls = daily.reduce((sum, day) => sum + day.call_count, 0);
  const records = daily.reduce((sum, day) => sum + day.total_records, 0);
  return <div ref={container} class="chart" role="img" aria-label={`Daily calls and records from ${startDate} to ${endDate}: ${calls} calls, ${records} records`} />;
}
