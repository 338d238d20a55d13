import { createHash } from 'node:crypto';
import { normalizeEmail } from '../accounts/accounts.repo.js';
import { OverloadedError } from '../errors.js';
import type { LimitStore } from '../limits/store.js';
import { linkUrl, renderLinkMail, renderNotice } from './templates.js';
import type { LinkMailName, LinkMailParams, NoticeName, NoticeParams } from './templates.js';
import type { MailTransport, OutgoingMail } from './transport.js';

/** Most mails held at once (waiting, being sent, or waiting to retry); past it a new mail is dropped. */
export const MAIL_QUEUE_MAX = 1000;
/** A failed send is tried again after each of these: three retries over about a minute. */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([5_000, 15_000, 40_000]);
const CAP_WINDOW_MS = 3600_000;

export interface MailLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Counts since start, and the mails held now: what /metrics shows. */
export interface MailStats {
  sent: number;
  /** Given up on after the retries (or cut off by close()). */
  failed: number;
  /** Never tried: the queue was full, or the mailer was closing. */
  dropped: number;
  /** Link mails refused by EMAILS_PER_ADDRESS_PER_HOUR (no mail was made). */
  capped: number;
  /** Held now: waiting for a first attempt, being sent, or waiting for a retry. */
  queued: number;
}

/** One place under EMAILS_PER_ADDRESS_PER_HOUR, reserved for one link mail to `to`; sendLink spends it. */
export interface LinkMailPermit {
  readonly to: string;
}

export interface MailerOptions {
  transport: MailTransport;
  /** MAIL_FROM. */
  from: string;
  /** PUBLIC_URL, without a trailing slash: links start with it. */
  publicUrl: string;
  limitStore: LimitStore;
  /** EMAILS_PER_ADDRESS_PER_HOUR. */
  linkMailsPerHour: number;
  log: MailLog;
  clock?: () => number;
  queueMax?: number;
  retryDelaysMs?: readonly number[];
  /** Sends under way at once. */
  concurrency?: number;
  /** The longest one attempt may take, whatever the server does (nodemailer's timeouts come first). */
  attemptTimeoutMs?: number;
  /** How long close() lets sends under way finish before it cuts them off. */
  closeGraceMs?: number;
}

interface Job {
  /** For the log lines of one mail's attempts; not a secret, not the token. */
  id: number;
  template: LinkMailName | NoticeName;
  mail: OutgoingMail;
  attempts: number;
}

/** The key of an address's cap: hashed, so the limit store (Redis) holds no addresses and keys stay short. */
function capKey(address: string): string {
  return `mail:links:${createHash('sha256').update(normalizeEmail(address)).digest('hex').slice(0, 32)}`;
}

/** What a log line may say about a failure: the transport's code and message, never the mail. */
function reasonOf(error: unknown): object {
  if (!(error instanceof Error)) return { message: String(error).slice(0, 300) };
  const { code, responseCode, command } = error as Error & { code?: unknown; responseCode?: unknown; command?: unknown };
  return { message: error.message.slice(0, 300), ...(code !== undefined ? { code } : {}), ...(responseCode !== undefined ? { responseCode } : {}), ...(command !== undefined ? { command } : {}) };
}

/**
 * The mail of one process: templates rendered, then sent after the caller has moved on, from a
 * bounded in-memory queue. Nothing here ever makes a caller wait for SMTP or learn how it went:
 * `sendLink` and `sendNotice` return at once, and a slow, refusing or silent server costs at most
 * `queueMax` held mails (new ones are dropped and counted past that), each retried three times
 * over about a minute and then given up, logged without its content.
 *
 * Link mails are capped per address (EMAILS_PER_ADDRESS_PER_HOUR, any 60 minutes, counted in the
 * shared limit store): ask `reserveLinkMail` BEFORE making the token, and make none without a permit.
 *
 * @example
 * const permit = await mailer.reserveLinkMail(user.email);
 * if (permit) mailer.sendLink(permit, 'password-reset', token, { username: user.username, validForSeconds: 3600 });
 * mailer.sendNotice(user.email, 'password-changed', { username: user.username });
 */
export class Mailer {
  readonly #transport: MailTransport;
  readonly #from: string;
  readonly #publicUrl: string;
  readonly #limits: LimitStore;
  readonly #perHour: number;
  readonly #log: MailLog;
  readonly #clock: () => number;
  readonly #queueMax: number;
  readonly #retryDelaysMs: readonly number[];
  readonly #concurrency: number;
  readonly #attemptTimeoutMs: number;
  readonly #closeGraceMs: number;

  /** Permits handed out and not yet spent: one link mail each. */
  readonly #permits = new WeakSet<LinkMailPermit>();
  readonly #ready: Job[] = [];
  readonly #retrying = new Map<Job, NodeJS.Timeout>();
  readonly #sending = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #counts = { sent: 0, failed: 0, dropped: 0, capped: 0 };
  #nextId = 0;
  #pumpScheduled = false;
  #closed = false;

  constructor(options: MailerOptions) {
    this.#transport = options.transport;
    this.#from = options.from;
    this.#publicUrl = options.publicUrl;
    this.#limits = options.limitStore;
    this.#perHour = options.linkMailsPerHour;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#queueMax = options.queueMax ?? MAIL_QUEUE_MAX;
    this.#retryDelaysMs = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.#concurrency = options.concurrency ?? 2;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
    this.#closeGraceMs = options.closeGraceMs ?? 2_000;
  }

  get stats(): MailStats {
    return { ...this.#counts, queued: this.queued };
  }

  /** Mails held now (waiting, being sent, waiting to retry); never more than `queueMax`. */
  get queued(): number {
    return this.#ready.length + this.#sending.size + this.#retrying.size;
  }

  /**
   * Count one link mail to `address` against EMAILS_PER_ADDRESS_PER_HOUR (addresses compared
   * case-insensitively, in any 60 minutes, sent or failed alike), in one atomic step of the limit
   * store, so concurrent requests and other instances cannot both take the last place.
   * Resolves to a permit for one `sendLink`, or null past the cap: then make no token and send
   * nothing, and answer as usual.
   */
  async reserveLinkMail(address: string): Promise<LinkMailPermit | null> {
    let allowed: boolean;
    try {
      ({ allowed } = await this.#limits.slidingAdd(capKey(address), CAP_WINDOW_MS, this.#perHour));
    } catch (error) {
      if (!(error instanceof OverloadedError)) throw error;
      // The store is full of other addresses' windows. Refusing a mail keeps the answer unchanged;
      // forgetting a window would let someone past a cap.
      this.#log.warn({}, 'mail cap store is full: link mail refused');
      allowed = false;
    }
    if (!allowed) {
      this.#counts.capped += 1;
      this.#log.info({ limit: this.#perHour }, 'link mail refused: the address had EMAILS_PER_ADDRESS_PER_HOUR already');
      return null;
    }
    const permit: LinkMailPermit = Object.freeze({ to: address });
    this.#permits.add(permit);
    return permit;
  }

  /**
   * Queue a link mail to the permit's address: the link is PUBLIC_URL + the template's path +
   * `?token=<token>`. Returns at once. Throws (a bug) for a permit not from reserveLinkMail or
   * already spent.
   */
  sendLink<N extends LinkMailName>(permit: LinkMailPermit, name: N, token: string, params: LinkMailParams[N]): void {
    if (!this.#permits.delete(permit)) throw new Error('sendLink needs an unspent permit from reserveLinkMail');
    const link = linkUrl(this.#publicUrl, name, token);
    const rendered = renderLinkMail(name, params, { to: permit.to, publicUrl: this.#publicUrl, at: new Date(this.#clock()), link });
    this.#enqueue(name, { from: this.#from, to: permit.to, ...rendered });
  }

  /** Queue a security notice to `to`: never capped, never counted against the cap. Returns at once. */
  sendNotice<N extends NoticeName>(to: string, name: N, params: NoticeParams[N]): void {
    const rendered = renderNotice(name, params, { to, publicUrl: this.#publicUrl, at: new Date(this.#clock()) });
    this.#enqueue(name, { from: this.#from, to, ...rendered });
  }

  /**
   * Stop: retry timers are cleared, and mails waiting for a first attempt or a retry are dropped
   * (counted, and logged by number). Sends under way get `closeGraceMs` to finish, then are cut off.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#retrying.values()) clearTimeout(timer);
    const lost = this.#ready.length + this.#retrying.size;
    this.#ready.length = 0;
    this.#retrying.clear();
    if (lost > 0) {
      this.#counts.dropped += lost;
      this.#log.warn({ mails: lost }, 'mailer closed: mails waiting to be sent or retried were dropped');
    }
    if (this.#sending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#closeGraceMs);
        timer.unref();
      });
      await Promise.race([Promise.allSettled([...this.#sending]), grace]);
      clearTimeout(timer);
    }
    this.#abort.abort();
    await Promise.allSettled([...this.#sending]);
    this.#transport.close();
  }

  #enqueue(template: Job['template'], mail: OutgoingMail): void {
    if (this.#closed || this.queued >= this.#queueMax) {
      this.#counts.dropped += 1;
      this.#log.warn({ template, queued: this.queued }, this.#closed ? 'mail dropped: the mailer is closed' : `mail dropped: ${this.#queueMax} mails are waiting already`);
      return;
    }
    this.#nextId += 1;
    this.#ready.push({ id: this.#nextId, template, mail, attempts: 0 });
    this.#schedulePump();
  }

  // Sending starts on a later turn of the event loop, never inside the caller's.
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.#closed && this.#sending.size < this.#concurrency) {
      const job = this.#ready.shift();
      if (job === undefined) return;
      const sending: Promise<void> = this.#attempt(job).finally(() => {
        this.#sending.delete(sending);
        this.#pump();
      });
      this.#sending.add(sending);
    }
  }

  async #attempt(job: Job): Promise<void> {
    job.attempts += 1;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#attemptTimeoutMs)]);
    try {
      const delivery = await this.#transport.deliver(job.mail, signal);
      this.#counts.sent += 1;
      if (delivery.via === 'file') this.#log.info({ mailId: job.id, template: job.template, file: delivery.file }, 'mail written to a file (no SMTP_URL)');
      else this.#log.info({ mailId: job.id, template: job.template, attempts: job.attempts, messageId: delivery.messageId }, 'mail sent');
    } catch (error) {
      this.#failed(job, error);
    }
  }

  #failed(job: Job, error: unknown): void {
    const details = { mailId: job.id, template: job.template, attempts: job.attempts, reason: reasonOf(error) };
    const retryInMs = this.#closed ? undefined : this.#retryDelaysMs[job.attempts - 1];
    if (retryInMs === undefined) {
      this.#counts.failed += 1;
      this.#log.warn(details, this.#closed ? 'mail not sent: cut off by shutdown' : 'mail not sent after its retries: dropped');
      return;
    }
    this.#log.warn({ ...details, retryInMs }, 'mail send failed: will retry');
    const timer = setTimeout(() => {
      this.#retrying.delete(job);
      this.#ready.push(job);
      this.#pump();
    }, retryInMs);
    // A retry never keeps the process alive on its own.
    timer.unref();
    this.#retrying.set(job, timer);
  }
}
