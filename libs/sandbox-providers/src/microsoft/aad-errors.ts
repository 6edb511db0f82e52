// The token endpoint's AADSTS failures, worded as Entra words them: the AadError class and one factory per code the
// identity emulator raises.
/** AADSTS-style failure of the token endpoint. */
export class AadError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly description: string,
    readonly suberror?: string,
  ) {
    super(`AADSTS${code}: ${description}`);
  }
}

export const aadErrors = {
  appNotFound: (clientId: string | undefined) =>
    new AadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId ?? ''}' was not found in the directory 'Sandbox'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    ),
  missingClientSecret: () =>
    new AadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  invalidClientSecret: () =>
    new AadError(
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
    ),
  /** AADSTS65001; `appName` as the consent prompt would have named the app. */
  consentRequired: (clientId: string, appName: string) =>
    new AadError(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    ),
  malformedGrant: () =>
    new AadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'),
  codeAlreadyRedeemed: () =>
    new AadError(
      400,
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    ),
  codeExpired: () =>
    new AadError(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    ),
  redirectUriMismatch: (redirectUri: string | undefined) =>
    new AadError(
      400,
      'invalid_grant',
      50011,
      `The redirect URI '${redirectUri ?? ''}' specified in the request does not match the redirect URI used to obtain the authorization code.`,
    ),
  codeVerifierMismatch: () =>
    new AadError(
      400,
      'invalid_grant',
      501481,
      'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
    ),
  grantRevoked: () =>
    new AadError(
      400,
      'invalid_grant',
      50173,
      "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '2024-01-01T00:00:00.0000000Z' and the TokensValidFrom date (before which tokens are not valid) for this user is '2024-01-02T00:00:00.0000000Z'.",
      'bad_token',
    ),
  refreshTokenInactive: () =>
    new AadError(
      400,
      'invalid_grant',
      700082,
      'The refresh token has expired due to inactivity. The token was issued on 2024-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00.',
      'bad_token',
    ),
  userNotInDirectory: () =>
    new AadError(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.'),
};
