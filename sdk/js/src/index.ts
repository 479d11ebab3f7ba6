/**
 * JavaScript/TypeScript client of micro-user, the self-hosted user service speaking the
 * Micro user API. No dependencies: it needs a global `fetch` (Node 18+, browsers, Deno,
 * Bun) or one passed in.
 *
 * ```js
 * import { UserService } from "micro-user-sdk";
 *
 * const users = new UserService({ address: "http://localhost:8080", key: "muk_..." });
 * const account = await users.create({ email: "ada@example.com", password: "correct horse" });
 * ```
 */

export {
  DEFAULT_ADDRESS,
  DEFAULT_TIMEOUT_MS,
  UserService,
  type CreateParams,
  type DeleteParams,
  type FetchInit,
  type FetchLike,
  type FetchResponse,
  type ListParams,
  type LoginParams,
  type LogoutAllParams,
  type LogoutParams,
  type ReadParams,
  type ReadSessionParams,
  type RequestOptions,
  type ResetPasswordParams,
  type SendMagicLinkParams,
  type SendPasswordResetEmailParams,
  type SendVerificationEmailParams,
  type UpdateParams,
  type UpdatePasswordParams,
  type UserServiceOptions,
  type VerifyEmailParams,
  type VerifyTokenParams,
} from "./client.js";
export { MicroUserError, TransportError } from "./errors.js";
export type { Account, ReadSessionResult, Session, VerifyTokenResult } from "./models.js";
