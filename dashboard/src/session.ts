// Who is signed in, and the calls that start and end a session (the gateway's /session
// routes, which keep the tokens in HttpOnly cookies).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { api, must, postJson } from "./api/client";
import type { Schemas } from "./api/client";

export type Me = Schemas["MeOut"];
export type User = Schemas["UserOut"];
export type Team = Schemas["TeamOut"];

export interface Directory {
  users: User[];
  teams: Team[];
  userName: (id: string | null | undefined) => string;
  teamName: (id: string | null | undefined) => string;
}

export interface SessionContext {
  me: Me;
  directory: Directory;
  reloadDirectory: () => void;
  isAdmin: boolean;
}

export const Session = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const session = useContext(Session);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

export async function whoAmI(): Promise<Me> {
  return must(await api.GET("/api/v1/me"));
}

/** Users and teams by id, for names; an agent who may not list users still gets names. */
export async function loadDirectory(me: Me): Promise<Directory> {
  const [users, teams] = await Promise.all([
    api.GET("/api/v1/users").then((r) => (r.response.ok ? (r.data ?? []) : [])),
    api.GET("/api/v1/teams").then((r) => (r.response.ok ? (r.data ?? []) : [])),
  ]);
  if (me.user && !users.some((u) => u.id === me.user?.id)) users.push(me.user);
  const userById = new Map(users.map((u) => [u.id, u]));
  const teamById = new Map(teams.map((t) => [t.id, t]));
  return {
    users,
    teams,
    userName: (id) =>
      !id ? "Nobody" : id === me.user?.id ? "You" : (userById.get(id)?.name ?? "A colleague"),
    teamName: (id) => (!id ? "No team" : (teamById.get(id)?.name ?? "A team")),
  };
}

export const signIn = (email: string, password: string) =>
  postJson("/session", { email, password });
/** Ask to sign up: a confirmation link is emailed (nothing exists until it is opened). */
export const signUp = (body: Schemas["SignupIn"]) =>
  postJson("/session/signup", body) as Promise<Schemas["SignupRequestedOut"]>;
/** Open the emailed link: the business and its owner are created, and signed in. */
export const confirmSignUp = (token: string) => postJson("/session/signup/confirm", { token });
export const acceptInvitation = (body: Schemas["AcceptInvitationIn"]) =>
  postJson("/session/invitation", body);
export const changePassword = (body: Schemas["ChangePasswordIn"]) =>
  postJson("/session/password", body);

export async function signOut(): Promise<void> {
  try {
    await postJson("/session/logout", {});
  } finally {
    window.location.assign("/signin");
  }
}
