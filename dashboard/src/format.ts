// Words and numbers as the dashboard shows them (pure functions, unit-tested).
import type { Schemas } from "./api/client";

export type Conversation = Schemas["ConversationOut"];
export type Message = Schemas["MessageOut"];
export type State = Schemas["State"];

export const STATE_LABELS: Record<State, string> = {
  ai: "AI answering",
  waiting_human: "Waiting for a person",
  human: "With a person",
  closed: "Closed",
};

/** The name to show for a customer. */
export function contactName(contact: Schemas["ContactOut"]): string {
  return (
    contact.profile_name ||
    contact.username ||
    (contact.wa_id ? `+${contact.wa_id}` : null) ||
    contact.bsuid ||
    "Unknown customer"
  );
}

/** "14:05" today, "Mon 14:05" this week, else "3 Feb" (or "3 Feb 2025"). */
export function shortTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const days = (startOfDay(now) - startOfDay(at)) / 86_400_000;
  if (days < 1) return time;
  if (days < 7) return `${at.toLocaleDateString(undefined, { weekday: "short" })} ${time}`;
  return at.toLocaleDateString(undefined, {
    day: "numeric",
    month: "short",
    ...(at.getFullYear() === now.getFullYear() ? {} : { year: "numeric" }),
  });
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** A duration in seconds as a person reads it: "45 s", "3 min", "2 h 5 min". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** A share (0..1) as a percentage. */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined) return "—";
  return `${Math.round(share * 1000) / 10} %`;
}

export type Tick = { symbol: string; label: string; tone: "muted" | "read" | "failed" };

/** The delivery mark of an outbound message. */
export function deliveryTick(status: Message["status"]): Tick | null {
  switch (status) {
    case "pending":
      return { symbol: "🕓", label: "Sending", tone: "muted" };
    case "sent":
      return { symbol: "✓", label: "Sent", tone: "muted" };
    case "delivered":
      return { symbol: "✓✓", label: "Delivered", tone: "muted" };
    case "read":
    case "played":
      return { symbol: "✓✓", label: status === "read" ? "Read" : "Played", tone: "read" };
    case "failed":
      return { symbol: "!", label: "Not delivered", tone: "failed" };
    case "discarded":
      return { symbol: "⊘", label: "Not sent", tone: "failed" };
    default:
      return null;
  }
}

/** Who wrote a message, in words. */
export function authorLabel(message: Message, userName: (id: string) => string): string {
  switch (message.author) {
    case "customer":
      return "Customer";
    case "ai":
      return "AI";
    case "agent":
      return message.author_user_id ? userName(message.author_user_id) : "Your team";
    default:
      return "Parley";
  }
}

/** US dollars as a person reads them; LLM costs are often fractions of a cent. */
export function usd(amount: number): string {
  if (amount === 0) return "$0.00";
  if (amount < 0.0001) return "< $0.0001";
  if (amount < 1) return `$${amount.toFixed(4).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
  return `$${amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export type Styled = { text: string; style: "bold" | "italic" | "strike" | "mono" | null };

const STYLES = { "*": "bold", _: "italic", "~": "strike" } as const;
// WhatsApp's own formatting: ```monospace```, and *bold*, _italic_, ~strike~ when the marker
// hugs its text, is not inside a word and is not doubled (so snake_case, 2*3*4 and __name
// stay as typed). No nesting.
const MARKUP =
  /```([\s\S]+?)```|(?<![\p{L}\p{N}*_~])([*_~])(?![\s*_~])([^\n]*?[^\s\n*_~])\2(?![\p{L}\p{N}*_~])/gu;

/** A message's text in pieces, styled as WhatsApp shows it to the customer (never HTML). */
export function whatsappText(text: string): Styled[] {
  const pieces: Styled[] = [];
  let at = 0;
  for (const match of text.matchAll(MARKUP)) {
    const start = match.index ?? 0;
    if (start > at) pieces.push({ text: text.slice(at, start), style: null });
    if (match[1] !== undefined) pieces.push({ text: match[1], style: "mono" });
    else pieces.push({ text: match[3] ?? "", style: STYLES[match[2] as keyof typeof STYLES] });
    at = start + match[0].length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), style: null });
  return pieces;
}

/** "1 page", "2 pages": a count with its noun (English plurals in -s). */
export function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}
