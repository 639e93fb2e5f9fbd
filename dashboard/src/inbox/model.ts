// The inbox's pure logic: which conversations a view asks for, whether a conversation
// belongs to a view, and how live changes move the list and the timeline (unit-tested).
import type { Conversation, Message, State } from "../format";

export type ViewId = "open" | "mine" | "unassigned" | "waiting" | "ai" | "human" | "closed";

export interface View {
  id: ViewId;
  label: string;
  states?: State[];
  assignee?: "me" | "unassigned";
}

export const OPEN_STATES: State[] = ["ai", "waiting_human", "human"];

export const VIEWS: View[] = [
  { id: "open", label: "All open", states: OPEN_STATES },
  { id: "mine", label: "Mine", states: OPEN_STATES, assignee: "me" },
  { id: "unassigned", label: "Unassigned", states: OPEN_STATES, assignee: "unassigned" },
  { id: "waiting", label: "Waiting for a person", states: ["waiting_human"] },
  { id: "ai", label: "AI answering", states: ["ai"] },
  { id: "human", label: "With a person", states: ["human"] },
  { id: "closed", label: "Closed", states: ["closed"] },
];

export interface Filter {
  view: ViewId;
  teamId?: string | undefined;
  label?: string | undefined;
  search?: string | undefined;
}

/** The query of GET /api/v1/conversations for a filter. */
export function listQuery(filter: Filter): {
  state?: State[];
  assignee?: string;
  team_id?: string;
  label?: string;
  q?: string;
} {
  const view = VIEWS.find((v) => v.id === filter.view) ?? VIEWS[0]!;
  const query: ReturnType<typeof listQuery> = {};
  if (view.states) query.state = view.states;
  if (view.assignee) query.assignee = view.assignee;
  if (filter.teamId) query.team_id = filter.teamId;
  if (filter.label) query.label = filter.label;
  const search = filter.search?.trim();
  if (search) query.q = search;
  return query;
}

/** Whether `conversation` is one the filter shows (used to place live updates). */
export function matches(conversation: Conversation, filter: Filter, myUserId: string | null) {
  const view = VIEWS.find((v) => v.id === filter.view) ?? VIEWS[0]!;
  if (view.states && !view.states.includes(conversation.state)) return false;
  if (view.assignee === "me" && conversation.assignee_user_id !== myUserId) return false;
  if (
    view.assignee === "unassigned" &&
    (conversation.assignee_user_id || conversation.assignee_team_id)
  ) {
    return false;
  }
  if (filter.teamId && conversation.assignee_team_id !== filter.teamId) return false;
  if (filter.label && !conversation.labels.includes(filter.label)) return false;
  // A search is answered by the server; a live update keeps only what is already listed.
  return true;
}

/**
 * The later of two snapshots of a conversation. Responses can arrive out of order (a read
 * started before a change can answer after it), so an older snapshot never replaces a newer.
 */
export function latest(shown: Conversation | null, fresh: Conversation): Conversation {
  return shown && shown.id === fresh.id && shown.version > fresh.version ? shown : fresh;
}

/** The list after `changed` (fresh from the API): placed by activity, or dropped. */
export function placeConversation(
  list: Conversation[],
  changed: Conversation,
  filter: Filter,
  myUserId: string | null,
): Conversation[] {
  const listed = list.find((c) => c.id === changed.id);
  if (listed && latest(listed, changed) !== changed) return list; // a late, older snapshot
  const rest = list.filter((c) => c.id !== changed.id);
  const wasListed = rest.length !== list.length;
  if (!matches(changed, filter, myUserId)) return rest;
  if (filter.search?.trim() && !wasListed) return list;
  return [...rest, changed].sort(byActivity);
}

export function byActivity(a: Conversation, b: Conversation): number {
  return (
    Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at) || b.id.localeCompare(a.id)
  );
}

/** The timeline after `message` arrived or changed: one copy, in the order written. */
export function placeMessage(timeline: Message[], message: Message): Message[] {
  const rest = timeline.filter((m) => m.id !== message.id);
  return [...rest, message].sort(byWriting);
}

function byWriting(a: Message, b: Message): number {
  // Timestamps compare as times: the API leaves out zero microseconds, so text would not do.
  return (
    Date.parse(a.occurred_at) - Date.parse(b.occurred_at) ||
    Date.parse(a.created_at) - Date.parse(b.created_at)
  );
}
