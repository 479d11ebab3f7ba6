/**
 * `UserService`: one async method per endpoint of micro-user's user service.
 *
 * Every method sends `POST {address}/v1/user/{Endpoint}` with a JSON body of the proto's
 * field names (`session_id`, `old_password`; `userId` in UpdatePassword really is spelled
 * so) and `Authorization: Bearer <key>`, and reads the answer into typed values. Empty
 * strings and zeros mean "not given", as in the proto.
 */

import {
  Transport,
  nothing,
  type Body,
  type ClientOptions,
  type RequestOptions,
} from "./transport.js";
import {
  ShapeError,
  listOf,
  parseAccount,
  parseSession,
  parseVerifyToken,
  type Account,
  type ReadSessionResult,
  type Session,
  type VerifyTokenResult,
} from "./models.js";

/** The options of `UserService`: those of every client. */
export type UserServiceOptions = ClientOptions;

// Arguments of each method: the fields of the Micro user API, in camel case.

export interface CreateParams {
  email: string;
  password: string;
  username?: string | undefined;
  /** Generated when empty. */
  id?: string | undefined;
  profile?: Record<string, string> | undefined;
}

/** One of them is enough: id, else username, else email (case-insensitive). */
export interface ReadParams {
  id?: string | undefined;
  username?: string | undefined;
  email?: string | undefined;
}

export interface UpdateParams {
  id: string;
  username?: string | undefined;
  email?: string | undefined;
  /** Replaces the whole profile when given (and not empty). */
  profile?: Record<string, string> | undefined;
  /**
   * micro-user's addition: the current password, which a user changing their own email
   * with their session or token must give. Sent only when given.
   */
  password?: string | undefined;
}

export interface DeleteParams {
  id: string;
}

export interface ListParams {
  offset?: number | undefined;
  /** 25 when 0 or not given, at most 1000. */
  limit?: number | undefined;
}

export interface UpdatePasswordParams {
  userId: string;
  oldPassword: string;
  newPassword: string;
  confirmPassword: string;
}

/** A password and the username or the email of the account. */
export interface LoginParams {
  password: string;
  username?: string | undefined;
  email?: string | undefined;
  /**
   * For an account with two-step sign-in (which answers 401 `user.login.second_factor`
   * without it): a code of its authenticator app, or a recovery code.
   */
  factorCode?: string | undefined;
}

export interface LogoutParams {
  sessionId: string;
}

export interface LogoutAllParams {
  userId: string;
}

export interface ReadSessionParams {
  sessionId: string;
}

export interface SendVerificationEmailParams {
  email: string;
  subject: string;
  /** Must contain `$micro_verification_link`. */
  textContent: string;
  redirectUrl?: string | undefined;
  failureRedirectUrl?: string | undefined;
  fromName?: string | undefined;
}

export interface VerifyEmailParams {
  token: string;
}

export interface SendPasswordResetEmailParams {
  email: string;
  subject: string;
  /** Must contain `$code`. */
  textContent: string;
  fromName?: string | undefined;
  /** Seconds the code lives (1800 when 0 or not given). */
  expiration?: number | undefined;
}

export interface ResetPasswordParams {
  email: string;
  code: string;
  newPassword: string;
  confirmPassword: string;
}

export interface SendMagicLinkParams {
  email: string;
  subject: string;
  /** Must contain `$micro_verification_link`, replaced by `https://{address}/{endpoint}/{token}`. */
  textContent: string;
  address: string;
  endpoint: string;
  fromName?: string | undefined;
}

export interface VerifyTokenParams {
  token: string;
}

export interface StartTotpParams {
  userId: string;
}

/** The account and a code of its authenticator app (or a recovery code where one is in force). */
export interface FactorCodeParams {
  userId: string;
  code: string;
}

/** What `startTotp` answers: the key (base32) and its `otpauth://` URI, for a QR code. */
export interface TotpSetup {
  readonly secret: string;
  readonly uri: string;
}

function recoveryCodes(body: Body): string[] {
  return listOf(body, "recovery_codes", String);
}

function account(body: Body): Account {
  return parseAccount(body["account"]);
}

function accounts(body: Body): Account[] {
  const users = body["users"];
  if (users === undefined || users === null) return [];
  if (!Array.isArray(users)) throw new ShapeError("'users' is not a list");
  return users.map(parseAccount);
}

function session(body: Body): Session {
  return parseSession(body["session"]);
}

function sessionAndAccount(body: Body): ReadSessionResult {
  return { session: parseSession(body["session"]), account: parseAccount(body["account"]) };
}

/**
 * A client of micro-user's user service.
 *
 * ```js
 * const users = new UserService({ address: "http://localhost:8080", key: "muk_..." });
 * const account = await users.create({ email: "ada@example.com", password: "correct horse" });
 * ```
 *
 * Methods reject with {@link MicroUserError} when the server answers with an error (branch
 * on `error.id`), and with {@link TransportError} when it cannot be reached or is too slow.
 * There is nothing to close.
 */
export class UserService {
  /** The base URL calls go to (without a trailing slash). */
  readonly address: string;
  readonly #transport: Transport;

  constructor(options: UserServiceOptions = {}) {
    this.#transport = new Transport(options);
    this.address = this.#transport.address;
  }

  #send<T>(
    endpoint: string,
    payload: Body,
    parse: (body: Body) => T,
    options?: RequestOptions,
  ): Promise<T> {
    return this.#transport.post(`/v1/user/${endpoint}`, payload, parse, options);
  }

  // Accounts ---------------------------------------------------------------

  /**
   * Register an account. `id` is generated when empty; username and email are trimmed and
   * lower-cased. A taken id, username or email is a 400 with id `users-userId-check`,
   * `users-username-check` or `users-email-check`.
   */
  create(params: CreateParams, options?: RequestOptions): Promise<Account> {
    const { email, password, username = "", id = "", profile = {} } = params;
    const payload = { id, username, email, password, profile: { ...profile } };
    return this.#send("Create", payload, account, options);
  }

  /** Read an account by id, else username, else email (case-insensitive). 404 when there is none. */
  read(params: ReadParams = {}, options?: RequestOptions): Promise<Account> {
    const { id = "", username = "", email = "" } = params;
    return this.#send("Read", { id, username, email }, account, options);
  }

  /**
   * Change the given fields of account `id`; empty ones are kept. A new email clears
   * `verified`; a given profile replaces the whole profile.
   */
  async update(params: UpdateParams, options?: RequestOptions): Promise<void> {
    const { id, username = "", email = "", profile = {}, password = "" } = params;
    const payload = {
      id,
      username,
      email,
      profile: { ...profile },
      ...(password ? { password } : {}),
    };
    await this.#send("Update", payload, nothing, options);
  }

  /** Delete account `id` and end its sessions. */
  async delete(params: DeleteParams, options?: RequestOptions): Promise<void> {
    await this.#send("Delete", { id: params.id }, nothing, options);
  }

  /** Accounts, oldest first: `limit` of them (25 when 0, at most 1000) after skipping `offset`. */
  list(params: ListParams = {}, options?: RequestOptions): Promise<Account[]> {
    const { offset = 0, limit = 0 } = params;
    return this.#send("List", { offset, limit }, accounts, options);
  }

  /** Change the password of account `userId`, given its current one. Sessions are kept. */
  async updatePassword(params: UpdatePasswordParams, options?: RequestOptions): Promise<void> {
    const payload = {
      userId: params.userId,
      old_password: params.oldPassword,
      new_password: params.newPassword,
      confirm_password: params.confirmPassword,
    };
    await this.#send("UpdatePassword", payload, nothing, options);
  }

  // Sessions ---------------------------------------------------------------

  /**
   * Start a session for the account with this username or email and password. Wrong
   * credentials are a 401 with id `user.login`.
   */
  login(params: LoginParams, options?: RequestOptions): Promise<Session> {
    const { password, username = "", email = "", factorCode } = params;
    const payload: Body = { username, email, password };
    if (factorCode) payload["factor_code"] = factorCode; // micro-user's addition
    return this.#send("Login", payload, session, options);
  }

  /** End a session. 404 when it is unknown or already over. */
  async logout(params: LogoutParams, options?: RequestOptions): Promise<void> {
    await this.#send("Logout", { session_id: params.sessionId }, nothing, options);
  }

  /** End every session of account `userId`. */
  async logoutAll(params: LogoutAllParams, options?: RequestOptions): Promise<void> {
    await this.#send("LogoutAll", { user_id: params.userId }, nothing, options);
  }

  /** The live session `sessionId` and its account. 401 when it is unknown, expired or ended. */
  readSession(params: ReadSessionParams, options?: RequestOptions): Promise<ReadSessionResult> {
    return this.#send("ReadSession", { session_id: params.sessionId }, sessionAndAccount, options);
  }

  // Emailed flows ----------------------------------------------------------

  /**
   * Mail a verification link to `email`. `textContent` must contain
   * `$micro_verification_link`; opening the link verifies the address and redirects to
   * `redirectUrl` (or `failureRedirectUrl` when it is expired or used).
   */
  async sendVerificationEmail(
    params: SendVerificationEmailParams,
    options?: RequestOptions,
  ): Promise<void> {
    const payload = {
      email: params.email,
      subject: params.subject,
      text_content: params.textContent,
      redirect_url: params.redirectUrl ?? "",
      failure_redirect_url: params.failureRedirectUrl ?? "",
      from_name: params.fromName ?? "",
    };
    await this.#send("SendVerificationEmail", payload, nothing, options);
  }

  /** Verify an address with the token of its verification link (once). */
  async verifyEmail(params: VerifyEmailParams, options?: RequestOptions): Promise<void> {
    await this.#send("VerifyEmail", { token: params.token }, nothing, options);
  }

  /**
   * Mail a one-time reset code to `email`. `textContent` must contain `$code`; the code
   * expires after `expiration` seconds (1800 when 0). An unknown email answers the same,
   * and nothing is sent.
   */
  async sendPasswordResetEmail(
    params: SendPasswordResetEmailParams,
    options?: RequestOptions,
  ): Promise<void> {
    const payload = {
      email: params.email,
      subject: params.subject,
      text_content: params.textContent,
      from_name: params.fromName ?? "",
      expiration: params.expiration ?? 0,
    };
    await this.#send("SendPasswordResetEmail", payload, nothing, options);
  }

  /** Set a new password with a mailed reset code; ends every session of the account. */
  async resetPassword(params: ResetPasswordParams, options?: RequestOptions): Promise<void> {
    const payload = {
      email: params.email,
      code: params.code,
      new_password: params.newPassword,
      confirm_password: params.confirmPassword,
    };
    await this.#send("ResetPassword", payload, nothing, options);
  }

  /**
   * Mail a one-time login link `https://{address}/{endpoint}/{token}` to `email`.
   * `textContent` must contain `$micro_verification_link`. An unknown email answers the
   * same, and nothing is sent.
   */
  async sendMagicLink(params: SendMagicLinkParams, options?: RequestOptions): Promise<void> {
    const payload = {
      email: params.email,
      subject: params.subject,
      text_content: params.textContent,
      from_name: params.fromName ?? "",
      address: params.address,
      endpoint: params.endpoint,
    };
    await this.#send("SendMagicLink", payload, nothing, options);
  }

  /**
   * Turn a magic-link token into a new session. An unknown, expired, used or empty token is
   * not an error: `isValid` is false, `message` says why and `session` is null.
   */
  verifyToken(params: VerifyTokenParams, options?: RequestOptions): Promise<VerifyTokenResult> {
    return this.#send("VerifyToken", { token: params.token }, parseVerifyToken, options);
  }

  // Two-step sign-in (micro-user's addition) -------------------------------

  /** Begin setting up an authenticator app; not in force until `confirmTotp`. */
  startTotp(params: StartTotpParams, options?: RequestOptions): Promise<TotpSetup> {
    return this.#send(
      "StartTotp",
      { user_id: params.userId },
      (body) => ({ secret: String(body["secret"]), uri: String(body["uri"]) }),
      options,
    );
  }

  /**
   * Put the authenticator in force with a code from it; the ten recovery codes, shown
   * only now. From then on `login` needs `factorCode`.
   */
  confirmTotp(params: FactorCodeParams, options?: RequestOptions): Promise<string[]> {
    const payload = { user_id: params.userId, code: params.code };
    return this.#send("ConfirmTotp", payload, recoveryCodes, options);
  }

  /** New recovery codes, given a current code; the old ones stop working. */
  regenerateRecoveryCodes(params: FactorCodeParams, options?: RequestOptions): Promise<string[]> {
    const payload = { user_id: params.userId, code: params.code };
    return this.#send("RegenerateRecoveryCodes", payload, recoveryCodes, options);
  }

  /** Turn two-step sign-in off, given a current code. */
  async removeFactors(params: FactorCodeParams, options?: RequestOptions): Promise<void> {
    const payload = { user_id: params.userId, code: params.code };
    await this.#send("RemoveFactors", payload, nothing, options);
  }
}
