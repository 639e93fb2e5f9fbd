// Small building blocks shared by every page: fields with labels, buttons that show they
// are busy, errors in words, badges, a dialog that keeps keyboard focus inside it.
import type { ComponentChildren, ComponentProps } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";

let fieldIds = 0;

export function Field(props: {
  label: string;
  hint?: string;
  children: (id: string) => ComponentChildren;
}) {
  const [id] = useState(() => `field-${++fieldIds}`);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint && <p class="hint">{props.hint}</p>}
    </div>
  );
}

export function ErrorText(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {wordsOf(props.error)}
    </p>
  );
}

export function wordsOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "Parley cannot be reached; check your connection.";
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

/** Run an action, tracking whether it is busy and what went wrong. */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<unknown>,
): { run: (...args: A) => Promise<boolean>; busy: boolean; error: unknown; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(null);
      try {
        await action(...args);
        return true;
      } catch (e) {
        setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, clear: () => setError(null) };
}

/** Load data when `deps` change; `reload` loads again. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error: unknown; loading: boolean }>({
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) => current && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, data: state.data, reload: () => setTick((t) => t + 1) };
}

export function Button(
  props: ComponentProps<"button"> & {
    busy?: boolean;
    kind?: "primary" | "secondary" | "danger" | "ghost";
  },
) {
  const { busy, kind = "secondary", children, disabled, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      class={`btn btn-${kind} ${props.class ?? ""}`}
      disabled={disabled || busy}
      aria-busy={busy ? "true" : undefined}
    >
      {children}
    </button>
  );
}

export function Badge(props: { tone?: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${props.tone ?? "neutral"}`} title={props.title}>
      {props.children}
    </span>
  );
}

/** A modal dialog (the native <dialog>: focus stays inside, Escape closes unless locked). */
export function Dialog(props: {
  title: string;
  open: boolean;
  onClose?: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-label={props.title}
      onCancel={(e) => {
        if (!props.onClose) e.preventDefault();
        else props.onClose();
      }}
    >
      <h2>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** A secret shown once, with a copy button. */
export function ShownOnce(props: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="shown-once" role="status">
      <p>
        <strong>{props.label}</strong> It is shown only now: copy it and keep it safe.
      </p>
      <code class="secret">{props.value}</code>
      <Button
        onClick={async () => {
          await navigator.clipboard?.writeText(props.value);
          setCopied(true);
        }}
      >
        {copied ? "Copied" : "Copy"}
      </Button>
    </div>
  );
}

export function PageHeader(props: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1>{props.title}</h1>
      <div class="page-actions">{props.children}</div>
    </header>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/** A page's own sections as links (the current one marked for screen readers too). */
export function Tabs<T extends { path: string; label: string }>(props: {
  label: string;
  tabs: T[];
  current: T;
}) {
  return (
    <nav class="tabs" aria-label={props.label}>
      {props.tabs.map((t) => (
        <a key={t.path} href={t.path} aria-current={t === props.current ? "page" : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
