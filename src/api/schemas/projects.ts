import { Type } from "typebox";
import {
  LABEL_COLOR_PATTERN,
  LABEL_NAME_MAX,
  MEMBER_ROLES,
  PROJECT_DESCRIPTION_MAX,
  PROJECT_NAME_MAX,
  USERNAME_PATTERN,
} from "../../state/limits.js";
import { Id, MULTI_LINE, SINGLE_LINE } from "./common.js";
import { Label, Member, Project } from "./entities.js";

export const ProjectCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: PROJECT_NAME_MAX, pattern: SINGLE_LINE }),
    description: Type.Optional(Type.String({ maxLength: PROJECT_DESCRIPTION_MAX, pattern: MULTI_LINE })),
  },
  { additionalProperties: false },
);

export const ProjectPatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: PROJECT_NAME_MAX, pattern: SINGLE_LINE })),
    description: Type.Optional(Type.String({ maxLength: PROJECT_DESCRIPTION_MAX, pattern: MULTI_LINE })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ProjectAnswer = Type.Object({ project: Project });
export const ProjectList = Type.Object({ items: Type.Array(Project) });

export const MemberAddBody = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN.source }),
    role: Type.Optional(Type.Enum([...MEMBER_ROLES], { description: "default member" })),
  },
  { additionalProperties: false },
);
export const MemberParams = Type.Object({ id: Id, userId: Id }, { additionalProperties: false });
export const MemberAnswer = Type.Object({ member: Member });
export const MemberList = Type.Object({ items: Type.Array(Member) });

export const LabelCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: LABEL_NAME_MAX, pattern: SINGLE_LINE }),
    color: Type.String({ pattern: LABEL_COLOR_PATTERN.source, description: "#rrggbb" }),
  },
  { additionalProperties: false },
);
export const LabelAnswer = Type.Object({ label: Label });
export const LabelList = Type.Object({ items: Type.Array(Label) });
