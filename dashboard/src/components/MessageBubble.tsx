// One message of a timeline. Everything a customer sent is shown as text (JSX escapes it):
// no customer content is ever put into the page as HTML.
import type { ComponentChildren } from "preact";
import type { Message } from "../format";
import { authorLabel, deliveryTick, shortTime, whatsappText } from "../format";

type Content = Record<string, unknown>;

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function obj(value: unknown): Content {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Content) : {};
}

/** The URL of a stored file (the WhatsApp service keeps what customers send). */
function mediaUrl(content: Content): string | null {
  const stored = obj(content.stored_media);
  const id = str(stored.storage_id);
  return id && !stored.error ? `/api/v1/media/${encodeURIComponent(id)}` : null;
}

function Media(props: { message: Message }) {
  const content = props.message.content as Content;
  const media = obj(content.media);
  const kind = str(media.kind) || props.message.type;
  const url = mediaUrl(content);
  const caption = str(media.caption);
  const name = str(media.filename) || str(obj(content.stored_media).filename) || kind;
  let body: ComponentChildren;
  if (!url) {
    const failed = str(obj(content.stored_media).error);
    body = (
      <p class="media-missing">
        {failed ? `The ${kind} could not be fetched from WhatsApp.` : `Receiving the ${kind}…`}
      </p>
    );
  } else if (kind === "image" || kind === "sticker") {
    body = (
      <a href={url} target="_blank" rel="noopener">
        <img class="media-image" src={url} alt={caption || `${kind} from the customer`} loading="lazy" />
      </a>
    );
  } else if (kind === "audio") {
    body = <audio controls preload="none" src={url} aria-label="Voice or audio message" />;
  } else if (kind === "video") {
    body = <video controls preload="none" src={url} class="media-video" />;
  } else {
    body = (
      <a class="media-document" href={url} download={name}>
        📄 {name}
      </a>
    );
  }
  return (
    <>
      {body}
      {caption && <FormattedText text={caption} />}
    </>
  );
}

const STYLE_TAGS = { bold: "strong", italic: "em", strike: "s", mono: "code" } as const;

/** Text with WhatsApp's formatting shown as the customer sees it (as elements, never HTML). */
function FormattedText(props: { text: string }) {
  return (
    <p class="text">
      {whatsappText(props.text).map((piece, i) => {
        if (!piece.style) return piece.text;
        const Tag = STYLE_TAGS[piece.style];
        return <Tag key={i}>{piece.text}</Tag>;
      })}
    </p>
  );
}

function Body(props: { message: Message }) {
  const m = props.message;
  const content = m.content as Content;
  if (content.media) return <Media message={m} />;
  if (content.location) {
    const l = obj(content.location);
    const lat = Number(l.latitude);
    const lon = Number(l.longitude);
    const place = [str(l.name), str(l.address)].filter(Boolean).join(", ");
    return (
      <p class="text">
        📍 {place || "A location"}{" "}
        {Number.isFinite(lat) && Number.isFinite(lon) && (
          <a
            href={`https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`}
            target="_blank"
            rel="noopener noreferrer"
          >
            ({lat.toFixed(5)}, {lon.toFixed(5)}) on a map
          </a>
        )}
      </p>
    );
  }
  if (content.contacts) {
    const cards = (obj(content.contacts).contacts as Content[] | undefined) ?? [];
    return (
      <ul class="contact-cards">
        {cards.map((c, i) => (
          <li key={i}>
            👤 {str(c.formatted_name) || "Contact"}{" "}
            {((c.phones as string[] | undefined) ?? []).join(", ")}
          </li>
        ))}
      </ul>
    );
  }
  if (content.interactive_reply || content.button) {
    return (
      <p class="text">
        <span class="tapped">Tapped</span> {m.text}
      </p>
    );
  }
  if (content.template) {
    const t = obj(content.template);
    return (
      <p class="text">
        <span class="tapped">Template</span> {str(t.name)} ({str(t.language)}){" "}
        {m.text && m.text.includes(":") ? m.text.slice(m.text.indexOf(":") + 1) : ""}
      </p>
    );
  }
  return <FormattedText text={m.text ?? ""} />;
}

function Citations(props: { message: Message }) {
  const citations = (props.message.content as Content).citations;
  if (!Array.isArray(citations) || !citations.length) return null;
  const titles = [...new Set(citations.map((c) => str(obj(c).title) || "A document"))];
  return (
    <div class="citations">
      <span>Sources:</span>
      <ul>
        {titles.map((title) => (
          <li key={title}>{title}</li>
        ))}
      </ul>
    </div>
  );
}

export function MessageBubble(props: { message: Message; userName: (id: string) => string }) {
  const m = props.message;
  const tick = m.direction === "outbound" ? deliveryTick(m.status) : null;
  const side = m.direction === "inbound" ? "in" : m.direction === "internal" ? "note" : "out";
  return (
    <li class={`bubble bubble-${side} ${m.author === "ai" ? "bubble-ai" : ""}`} data-message-id={m.id}>
      <div class="bubble-head">
        <span class="author">
          {m.private ? "Private note · " : ""}
          {authorLabel(m, props.userName)}
        </span>
        <time dateTime={m.occurred_at}>{shortTime(m.occurred_at)}</time>
      </div>
      <Body message={m} />
      {m.author === "ai" && <Citations message={m} />}
      {tick && (
        <div class={`tick tick-${tick.tone}`}>
          <span aria-hidden="true">{tick.symbol}</span> <span>{tick.label}</span>
          {m.failure_reason && <span class="reason">: {m.failure_reason}</span>}
          {m.possible_duplicate && <span class="reason"> (the customer may have it twice)</span>}
        </div>
      )}
    </li>
  );
}
