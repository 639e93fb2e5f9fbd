// The dashboard's only way to the API: a typed client generated from the gateway's OpenAPI
// document (schema.d.ts, by `make web`), over a fetch that carries the session.
//
// The session lives in HttpOnly cookies the gateway sets (no token is ever visible here).
// Changes carry the CSRF token the gateway put in a readable cookie. When the API says the
// session is no longer valid, the session is refreshed once (one refresh at a time across
// tabs, since a refresh token works only once) and the request is repeated; when it cannot
// be refreshed, the person signs in again in a dialog over the page they were on, and the
// request goes on afterwards, so nothing they typed is lost.
import createClient from "openapi-fetch";
import { errorWords } from "./errors";
import type { components, paths } from "./schema";

export { ApiError, detailWords, errorWords } from "./errors";

export type Schemas = components["schemas"];

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const CSRF_COOKIES = ["__Host-parley_csrf", "parley_csrf"];

export function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name && CSRF_COOKIES.includes(name)) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function withCsrf(request: Request): Request {
  if (SAFE_METHODS.has(request.method)) return request;
  const headers = new Headers(request.headers);
  headers.set("X-CSRF-Token", csrfToken());
  return new Request(request, { headers });
}

type Renewal = () => Promise<void>;
let signInAgain: Renewal = async () => {
  window.location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
  await new Promise(() => undefined); // the page is going away
};
let renewing: Promise<void> | null = null;

/** What the app does when a session cannot be refreshed (show the sign-in dialog). */
export function onSessionEnded(handler: Renewal): void {
  signInAgain = handler;
}

/** Exchange the refresh cookie for a new session; false if the session has ended. */
export async function refreshSession(): Promise<boolean> {
  const refresh = async () => {
    const response = await fetch(
      withCsrf(new Request("/session/refresh", { method: "POST", credentials: "same-origin" })),
    );
    return response.ok;
  };
  // A refresh token is single-use (a second use revokes the session everywhere): tabs take
  // turns. Where Web Locks are missing, this tab still never refreshes twice at once.
  if (navigator.locks) return navigator.locks.request("parley-session-refresh", refresh);
  return refresh();
}

/** Refresh the session, or wait until the person has signed in again. One at a time. */
export function renewSession(): Promise<void> {
  renewing ??= (async () => {
    try {
      if (!(await refreshSession())) await signInAgain();
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** fetch with the session: CSRF token on changes, refresh-and-repeat on an ended session. */
export async function sessionFetch(input: Request): Promise<Response> {
  const again = input.clone();
  const response = await fetch(withCsrf(input));
  const path = new URL(input.url).pathname;
  // Signing in, up or out answers 401 for wrong credentials: nothing to refresh there.
  if (response.status !== 401 || !(path.startsWith("/api/") || path === "/session/password")) {
    return response;
  }
  await renewSession();
  return fetch(withCsrf(again));
}

export const api = createClient<paths>({
  baseUrl: location.origin,
  credentials: "same-origin",
  fetch: sessionFetch,
});

/** The data of an openapi-fetch result, or an ApiError with words. */
export function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  throw errorWords(result.response.status, result.error);
}

/** JSON to a gateway route that is not in the OpenAPI document (`/session/...`). */
export async function postJson(path: string, body: unknown): Promise<unknown> {
  const response = await sessionFetch(
    new Request(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body ?? {}),
    }),
  );
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw errorWords(response.status, data);
  return data;
}
