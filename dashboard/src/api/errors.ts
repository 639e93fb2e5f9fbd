// Failed API calls as words a person can read (pure; unit-tested): the message the API gave,
// each field or row it listed, or what the status means.

/** The error body every Parley API answers with. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: unknown; trace_id?: string };
  detail?: unknown;
}

/** A failed call, with a message a person can read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: "The request was not accepted.",
  401: "You are signed out. Sign in again.",
  403: "You are not allowed to do this.",
  404: "It no longer exists, or you cannot see it.",
  409: "It changed meanwhile; reload and try again.",
  413: "That is too large.",
  415: "That type of file is not supported.",
  422: "Some fields are not valid.",
  429: "Too many attempts; wait a moment and try again.",
  503: "The service is unavailable right now; try again shortly.",
  504: "The service took too long to answer; try again.",
};

/** Each problem an error body lists, in words: a field's (FastAPI's `loc`/`msg`, or
 * `field`/`reason`) or a row's (`row`/`reason`, as in a refused CSV import). */
export function detailWords(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d: unknown) => {
    if (!d || typeof d !== "object") return [];
    const { loc, msg, field, row, reason } = d as Record<string, unknown>;
    const words = typeof msg === "string" ? msg : typeof reason === "string" ? reason : "";
    if (!words) return [];
    if (typeof row === "number") return [`Row ${row}: ${words}`];
    const where = Array.isArray(loc) ? loc.filter((p) => p !== "body").join(".") : typeof field === "string" ? field : "";
    return [where ? `${where}: ${words}` : words];
  });
}

function validationWords(details: unknown): string | null {
  const parts = detailWords(details);
  return parts.length ? parts.join("; ") : null;
}

/** The words to show for a failed response. */
export function errorWords(status: number, body: unknown): ApiError {
  const b = (body ?? {}) as ApiErrorBody;
  const code = b.error?.code ?? "error";
  const message =
    validationWords(b.error?.details) ??
    b.error?.message ??
    STATUS_WORDS[status] ??
    `Something went wrong (HTTP ${status}).`;
  return new ApiError(
    status,
    code,
    message.charAt(0).toUpperCase() + message.slice(1),
    b.error?.details ?? null,
  );
}
