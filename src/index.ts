/**
 * abq: a zero-daemon message bus for AI agents, on plain files. This is the public library API; the CLI
 * (bin/abq.ts) is a thin layer over exactly these functions.
 */
export { send, recv, respond, ask, cancel, BACKSTOP_MS } from "./api/messages.ts";
export { release, ack, term, renew } from "./api/claim-acts.ts";
export type { ClaimRef } from "./api/claim-acts.ts";
export type { SendOptions, RecvOptions, RespondOptions, AskOptions } from "./api/messages.ts";
export { sendBatch } from "./api/batch.ts";
export type { BatchOptions } from "./api/batch.ts";
export {
  init,
  createChannel,
  subscribe,
  unsubscribe,
  listChannels,
  channelInfo,
  removeChannel,
  status,
  list,
  count,
  show,
  purge,
  schema,
} from "./api/channels.ts";
export type { ListOptions } from "./api/channels.ts";
export type { CommonOptions } from "./api/options.ts";
export { FsTransport } from "./spool/spool.ts";
export type { FsTransportOptions } from "./spool/spool.ts";
export type { NatsTransport, NatsTransportOptions } from "./nats/transport.ts"; // opened via `url` / ABQ_URL, loaded lazily
export { resolveHome } from "./spool/paths.ts";
export { validateChannelName, CHANNEL_NAME_PATTERN } from "./protocol/names.ts";
export type { ChannelName, SubscriberName, MessageId } from "./protocol/names.ts";
export { resolveIdentity, parseRemote } from "./identity/index.ts";
export { inboxName, resolveAddress } from "./identity/address.ts";
export { isAddress, looksLikeAgent, isFullIdentity } from "./identity/address.ts";
export type { AddressOptions } from "./identity/address.ts";
export { knownAgents, matchAgents } from "./identity/directory.ts";
export type { KnownAgent, DirectoryOptions } from "./identity/directory.ts";
export type { Identity, IdentityOptions } from "./identity/index.ts";
export {
  AbqError,
  isAbqError,
  newId,
  isId,
  idTime,
  formatTimestamp,
  requestSchema,
  responseSchema,
  PROTOCOL_VERSION,
  MESSAGE_TYPES,
  RESPONSE_STATUSES,
  DEFAULT_TTL,
} from "./protocol/index.ts";
export type { ErrorCode, Request, Response, MessageType, ResponseStatus } from "./protocol/index.ts";
export type {
  Transport,
  TransportCore,
  Capability,
  CapabilityMap,
  ChannelAdmin,
  Inspection,
  Supervision,
  Topics,
  ClaimHandle,
  ClaimOptions,
  ReleaseOptions,
  ReleaseOutcome,
  ChannelInfo,
  ChannelStatus,
  Claimed,
  ListEntry,
  FoundMessage,
  QueueOptions,
  WaitResponseOptions,
} from "./lifecycle/transport.ts";
export { capable } from "./lifecycle/transport.ts";
export { STATES, COUNTED_STATES, LIST_WORDS, parseListState, describeListStates } from "./lifecycle/states.ts";
export type { StateInfo, StateName, ListState, CountedState } from "./lifecycle/states.ts";
export type {
  Lease,
  LeaseOwner,
  FailureInfo,
  Skipped,
  RequeueResult,
  RequeueOptions,
  SweepReport,
  LifecycleEvent,
  EventKind,
} from "./lifecycle/records.ts";
export { openBus, schemeOf } from "./transports.ts";
export type { OpenOptions } from "./transports.ts";
export { createWatcher, Watcher, parseHandler, EX_TEMPFAIL, MAX_ENV_CONTENT } from "./watch/index.ts";
export type { WatchOptions, WatchEvent, WatchSummary } from "./watch/index.ts";
export { tail } from "./watch/tail.ts";
export type { TailEvent, TailOptions } from "./watch/tail.ts";
export { checkInbox } from "./inbox/check.ts";
export type { CheckInboxOptions, InboxSummary, PendingMessage } from "./inbox/check.ts";
export { waitForMail } from "./inbox/wait.ts";
export type { WaitForMailOptions } from "./inbox/wait.ts";
export { summaryLine, reminderBlock, reminderLines } from "./inbox/format.ts";
export { formatHook, parseHookInput, inboxHook, HOOK_EVENTS, HOOK_FORMATS } from "./inbox/hooks.ts";
export type { HookEvent, HookFormat, HookOptions, HookOutput, HookInput, InboxHookOptions } from "./inbox/hooks.ts";
export { requeue, sweep, deadLetters, trace } from "./api/supervise.ts";
export { configureChannel, channelPolicy } from "./api/channels.ts";
export { heartbeat, agents, mailboxes, consumers, doctor } from "./api/liveness.ts";
export type { AgentMailbox } from "./api/liveness.ts";
export * from "./api/security.ts";
export type { Policy, PolicyInput } from "./protocol/policy.ts";
export type { Heartbeat, HeartbeatStatus } from "./liveness/heartbeat.ts";
export { startPresence } from "./liveness/presence.ts";
export type { Presence, PresenceOptions } from "./liveness/presence.ts";
export type { DoctorReport, Finding } from "./doctor/check.ts";
export { thread } from "./api/thread.ts";
export type { Thread, ThreadMessage, ThreadOptions } from "./api/thread.ts";
export { search, SEARCH_LIMIT, MAX_SEARCH_LIMIT } from "./api/search.ts";
export type { SearchMatch, SearchOptions } from "./api/search.ts";
export * from "./attach/index.ts";
export * from "./kv/index.ts";
export * from "./lock/index.ts";
export * from "./reserve/index.ts";
export * from "./share/index.ts";
export * from "./ui/index.ts";
