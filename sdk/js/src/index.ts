/**
 * JavaScript/TypeScript client of micro-user, the self-hosted user and auth service
 * speaking the Micro user and auth APIs. No dependencies: it needs a global `fetch` (Node
 * 18+, browsers, Deno, Bun) or one passed in, and WebCrypto to check tokens locally.
 *
 * ```js
 * import { AuthService, TokenVerifier, UserService } from "micro-user-sdk";
 *
 * const users = new UserService({ address: "http://localhost:8080", key: "muk_..." });
 * const account = await users.create({ email: "ada@example.com", password: "correct horse" });
 * ```
 */

export {
  UserService,
  type CreateParams,
  type DeleteParams,
  type ListParams,
  type LoginParams,
  type LogoutAllParams,
  type LogoutParams,
  type ReadParams,
  type ReadSessionParams,
  type ResetPasswordParams,
  type SendMagicLinkParams,
  type SendPasswordResetEmailParams,
  type SendVerificationEmailParams,
  type UpdateParams,
  type UpdatePasswordParams,
  type UserServiceOptions,
  type VerifyEmailParams,
  type VerifyTokenParams,
  type StartTotpParams,
  type FactorCodeParams,
  type TotpSetup,
} from "./client.js";
export {
  AuthService,
  type AuthServiceOptions,
  type ChangeSecretParams,
  type CreateClientParams,
  type CreateProviderParams,
  type CreateRoleParams,
  type CreateRuleParams,
  type DeleteAccountParams,
  type DeleteClientParams,
  type DeleteProviderParams,
  type DeleteRoleParams,
  type DeleteRuleParams,
  type GenerateParams,
  type GrantParams,
  type InspectParams,
  type SetFactorPolicyParams,
  type TokenParams,
  type VerifyParams,
} from "./auth.js";
export {
  DEFAULT_ADDRESS,
  DEFAULT_TIMEOUT_MS,
  type ClientOptions,
  type FetchInit,
  type FetchLike,
  type FetchResponse,
  type RequestOptions,
} from "./transport.js";
export {
  ADMIN_SCOPE,
  Access,
  BUILTIN_RULES,
  RuleSet,
  evaluate,
  formatResource,
  parseResource,
  scopeApplies,
  type Resource,
  type Rule,
  type Subject,
} from "./rules.js";
export {
  ALGORITHMS,
  DEFAULT_REVOCATIONS_TTL_MS,
  InvalidTokenError,
  REVOCATIONS_PATH,
  TokenVerifier,
  subjectOf,
  type Claims,
  type SigningAlgorithm,
  type SubtleLike,
  type TokenVerifierOptions,
} from "./verifier.js";
export { AmbiguousPathError, canonicalPath, resourceForPath } from "./paths.js";
export {
  authorizeRequest,
  type AuthorizeOptions,
  type Decision,
  type RequestLike,
} from "./guard.js";
export { MicroUserError, TransportError } from "./errors.js";
export type {
  Account,
  AuthAccount,
  FactorPolicy,
  IdentityProvider,
  OAuthClient,
  ReadSessionResult,
  Role,
  Session,
  Token,
  VerifyResult,
  VerifyTokenResult,
} from "./models.js";
