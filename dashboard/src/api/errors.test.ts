import { describe, expect, it } from "vitest";
import { detailWords, errorWords } from "./errors";

describe("errors in words", () => {
  it("name each field or row a refusal lists", () => {
    expect(
      detailWords([
        { loc: ["body", "temperature"], msg: "Input should be less than or equal to 2" },
        { field: "title", reason: "title must not be blank" },
        { row: 3, reason: "the answer is empty" },
        { reason: "no question column" },
        "noise",
      ]),
    ).toEqual([
      "temperature: Input should be less than or equal to 2",
      "title: title must not be blank",
      "Row 3: the answer is empty",
      "no question column",
    ]);
    expect(detailWords({ model: "stub-large", status: 401 })).toEqual([]);
  });

  it("prefer the listed problems, then the message, then the status", () => {
    expect(errorWords(422, { error: { code: "unreadable", message: "bad file", details: [{ row: 2, reason: "no answer" }] } }).message).toBe(
      "Row 2: no answer",
    );
    const check = errorWords(400, {
      error: { code: "provider_check_failed", message: "the test call to model 'm' failed: the provider rejected the API key (401)", details: { model: "m" } },
    });
    expect(check.message).toBe("The test call to model 'm' failed: the provider rejected the API key (401)");
    expect(check.code).toBe("provider_check_failed");
    expect(errorWords(503, null).message).toBe("The service is unavailable right now; try again shortly.");
  });
});
