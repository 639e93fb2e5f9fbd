import { describe, expect, it } from "vitest";
import type { Conversation, Message } from "../format";
import { deliveryTick, duration } from "../format";
import { latest, listQuery, placeConversation, placeMessage } from "./model";

const conversation = (over: Partial<Conversation>): Conversation =>
  ({
    id: "c1",
    state: "ai",
    assignee_user_id: null,
    assignee_team_id: null,
    labels: [],
    last_activity_at: "2026-01-01T10:00:00Z",
    ...over,
  }) as Conversation;

describe("views", () => {
  it("ask the API for what they show", () => {
    expect(listQuery({ view: "mine", search: "  ana " })).toEqual({
      state: ["ai", "waiting_human", "human"],
      assignee: "me",
      q: "ana",
    });
    expect(listQuery({ view: "waiting", teamId: "t1", label: "vip" })).toEqual({
      state: ["waiting_human"],
      team_id: "t1",
      label: "vip",
    });
  });

  it("place a live change by activity, and drop what leaves the view", () => {
    const older = conversation({ id: "a", last_activity_at: "2026-01-01T09:00:00Z" });
    const newer = conversation({ id: "b", last_activity_at: "2026-01-01T09:00:00.5Z" });
    expect(placeConversation([older], newer, { view: "open" }, null).map((c) => c.id)).toEqual(["b", "a"]);
    const closed = conversation({ id: "a", state: "closed" });
    expect(placeConversation([older], closed, { view: "open" }, null)).toEqual([]);
    const someoneElse = conversation({ id: "a", assignee_user_id: "u2" });
    expect(placeConversation([older], someoneElse, { view: "mine" }, "u1")).toEqual([]);
  });

  it("never let a late, older snapshot undo a newer change", () => {
    const labelled = conversation({ id: "a", version: 5, labels: ["vip"] });
    const before = conversation({ id: "a", version: 4 });
    expect(latest(labelled, before)).toBe(labelled);
    expect(latest(before, labelled)).toBe(labelled);
    expect(latest(null, before)).toBe(before);
    expect(latest(conversation({ id: "b", version: 9 }), before)).toBe(before);
    expect(placeConversation([labelled], before, { view: "open" }, null)).toEqual([labelled]);
    expect(placeConversation([before], labelled, { view: "open" }, null)).toEqual([labelled]);
  });

  it("keep a search's results to what the server found", () => {
    const unknown = conversation({ id: "z" });
    expect(placeConversation([], unknown, { view: "open", search: "ana" }, null)).toEqual([]);
  });
});

describe("timeline", () => {
  it("holds each message once, in the order written", () => {
    const m = (id: string, at: string) => ({ id, occurred_at: at, created_at: at }) as Message;
    let timeline = [m("1", "2026-01-01T10:00:01Z")];
    timeline = placeMessage(timeline, m("0", "2026-01-01T10:00:00.9Z"));
    timeline = placeMessage(timeline, m("1", "2026-01-01T10:00:01Z"));
    expect(timeline.map((x) => x.id)).toEqual(["0", "1"]);
  });
});

describe("words", () => {
  it("say how a reply was delivered", () => {
    expect(deliveryTick("read")?.label).toBe("Read");
    expect(deliveryTick("failed")?.tone).toBe("failed");
    expect(deliveryTick("received")).toBeNull();
  });

  it("say durations as people do", () => {
    expect(duration(42)).toBe("42 s");
    expect(duration(3 * 60 + 10)).toBe("3 min");
    expect(duration(2 * 3600 + 5 * 60)).toBe("2 h 5 min");
    expect(duration(null)).toBe("—");
  });
});
