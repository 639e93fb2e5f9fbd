import { describe, expect, it } from "vitest";
import { count, whatsappText } from "./format";

describe("WhatsApp formatting", () => {
  it("styles what WhatsApp styles", () => {
    expect(whatsappText("We open at *9:00* on weekdays.\n\n_Source: Opening hours_")).toEqual([
      { text: "We open at ", style: null },
      { text: "9:00", style: "bold" },
      { text: " on weekdays.\n\n", style: null },
      { text: "Source: Opening hours", style: "italic" },
    ]);
    expect(whatsappText("~old~ ```x = *y*```")).toEqual([
      { text: "old", style: "strike" },
      { text: " ", style: null },
      { text: "x = *y*", style: "mono" },
    ]);
  });

  it("leaves markers inside words, loose markers and markup as typed", () => {
    for (const typed of [
      "snake_case_name",
      "2*3*4",
      "a * b * c",
      "* not bold*",
      "<b>bold</b> & <i>friends</i>",
      "*half\nline*",
      'window.__pwned = 1</script><img onerror="window.__pwned = 2">',
      "__init__ and **twice**",
    ]) {
      expect(whatsappText(typed)).toEqual([{ text: typed, style: null }]);
    }
  });
});

describe("counts", () => {
  it("say one thing or several", () => {
    expect([count(0, "page"), count(1, "page"), count(2, "passage")]).toEqual(["0 pages", "1 page", "2 passages"]);
  });
});
