import { Type } from "typebox";
import { DISPLAY_NAME_MAX, USERNAME_PATTERN } from "../../state/limits.js";
import { SINGLE_LINE } from "./common.js";
import { User } from "./entities.js";

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 200;

export const SignupBody = Type.Object(
  {
    username: Type.String({
      pattern: USERNAME_PATTERN.source,
      description: "3–32 characters of a-z 0-9 _ . -",
    }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
    displayName: Type.Optional(
      Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX, pattern: SINGLE_LINE }),
    ),
  },
  { additionalProperties: false },
);

/** Loose on purpose: a login with a name that cannot exist is just a failed login (401). */
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64, pattern: SINGLE_LINE }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
  },
  { additionalProperties: false },
);

export const AuthAnswer = Type.Object({
  user: User,
  token: Type.String({ description: "bearer token for the Authorization header" }),
});

export const MeAnswer = Type.Object({ user: User });
