/**
 * `evt.*` fields every source has, as Falco gives them to plugin sources:
 * time in several renderings, the event number, source and host name.
 * A source that defines one of these names itself keeps its own.
 */
import { hostname as osHostname } from 'node:os';
import type { EngineEvent } from './event.js';
import type { FieldDef } from './fields.js';

let hostName = osHostname();

/** Overrides the host name reported by `evt.hostname` and in alerts (config `hostname`). */
export function setHostname(name: string): void {
  hostName = name;
}

export function getHostname(): string {
  return hostName;
}

/** An event with the engine-assigned sequence number (Falco's evt.num). */
export interface NumberedEvent extends EngineEvent {
  num?: number;
}

const NS_PER_S = 1_000_000_000n;

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** Local-time `HH:MM:SS.nnnnnnnnn`, Falco's `evt.time` rendering. */
export function formatTimeOfDay(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(ns % NS_PER_S, 9)}`;
}

/** UTC `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the form of Falco's JSON `time`. */
export function formatIso8601(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return `${date}T${time}.${pad(ns % NS_PER_S, 9)}Z`;
}

function localDate(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}`;
}

function def(
  name: string,
  type: FieldDef['type'],
  desc: string,
  extract: (evt: NumberedEvent) => string | number | bigint | undefined,
): FieldDef<NumberedEvent> {
  return { name, type, isList: false, arg: 'none', desc, bind: () => extract };
}

export const GENERIC_FIELDS: readonly FieldDef<NumberedEvent>[] = [
  def('evt.num', 'uint', 'Sequence number of the event in this run', (e) => e.num),
  def('evt.time', 'string', 'Event time as local HH:MM:SS.nanoseconds', (e) => formatTimeOfDay(e.time)),
  def('evt.time.s', 'string', 'Event time as local HH:MM:SS', (e) => formatTimeOfDay(e.time).slice(0, 8)),
  def('evt.time.iso8601', 'string', 'Event time in ISO 8601 (UTC, nanoseconds)', (e) => formatIso8601(e.time)),
  def('evt.datetime', 'string', 'Event date and time as local YYYY-MM-DD HH:MM:SS.nanoseconds',
    (e) => `${localDate(e.time)} ${formatTimeOfDay(e.time)}`),
  def('evt.datetime.s', 'string', 'Event date and time as local YYYY-MM-DD HH:MM:SS',
    (e) => `${localDate(e.time)} ${formatTimeOfDay(e.time).slice(0, 8)}`),
  def('evt.rawtime', 'abstime', 'Event time in nanoseconds since the epoch', (e) => e.time),
  def('evt.rawtime.s', 'abstime', 'Integer part of the event time in seconds since the epoch', (e) => e.time / NS_PER_S),
  def('evt.rawtime.ns', 'abstime', 'Fractional part of the event time, in nanoseconds', (e) => e.time % NS_PER_S),
  def('evt.source', 'string', 'Name of the source that produced the event', (e) => e.source),
  def('evt.hostname', 'string', 'Name of the host Tiercel runs on', () => hostName),
  def('evt.pluginname', 'string', 'Plugin that produced the event (Tiercel: the source name)', (e) => e.source),
];
