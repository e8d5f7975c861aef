/** File reservations (`abq reserve`) and the pre-commit check. */
export { reserve, releaseReservations, listReservations, checkReservations, DEFAULT_RESERVE_TTL_S } from "./reserve.ts";
export type {
  Reservation,
  ReserveOptions,
  ReleaseReservationsOptions,
  CheckOptions,
  CheckConflict,
} from "./reserve.ts";
export { globMatches, globsOverlap } from "./glob.ts";
