import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import { ProjectSchema, Sha1HexSchema, UserNameSchema, type User } from '../../src/users.js';
import { entityTag, ifMatchVersion } from '../framework/preconditions.js';
import { defineAction, defineResource, type ApiObject } from '../framework/resource.js';

function toApi(user: User): ApiObject {
  return {
    id: user.name,
    name: user.name,
    projects: user.projects,
    ...(user.email !== undefined ? { email: user.email } : {}),
    creationTimestamp: user.creationTimestamp,
    updateTimestamp: user.updateTimestamp,
  };
}

const CreateUser = z.object({
  name: UserNameSchema,
  password: Sha1HexSchema,
  projects: z.array(ProjectSchema).optional(),
  email: z.email().optional(),
});

/** PUT replaces the user's projects whole; an absent password keeps the current one. */
const UpdateUser = z.object({
  password: Sha1HexSchema.optional(),
  projects: z.array(ProjectSchema).optional(),
  email: z.email().optional(),
});

export const userResource = defineResource({
  kind: 'user',
  list: async (ctx) => (await ctx.services.users.list()).map(toApi),
  get: async (ctx, id) => {
    const found = await ctx.services.users.getVersioned(id);
    if (!found) return undefined;
    ctx.setHeader('ETag', entityTag(found.version));
    return toApi(found.value);
  },
  create: {
    input: CreateUser,
    run: async (ctx, input) =>
      toApi(
        await ctx.services.users.create({
          name: input.name,
          sha1Password: input.password,
          projects: input.projects,
          email: input.email,
        }),
      ),
  },
  update: {
    input: UpdateUser,
    /** Over the version If-Match names, else the one read: a concurrent change → 409, never overwritten. */
    run: async (ctx, id, input) => {
      const updated = await ctx.services.users.update(
        id,
        { sha1Password: input.password, projects: input.projects ?? [], email: input.email },
        ifMatchVersion(ctx),
      );
      ctx.setHeader('ETag', entityTag(updated.version));
      return toApi(updated.value);
    },
  },
  remove: async (ctx, id) => {
    await ctx.services.users.delete(id);
  },
  actions: {
    login: defineAction({
      public: true,
      input: z.object({ password: Sha1HexSchema }),
      run: async (ctx, id, input) => ({
        token: await ctx.services.users.login(id, input.password, ctx.services.config.tokenTtlMs, ctx.sourceAddress, 'zcloud'),
      }),
    }),
    resetPassword: defineAction({
      input: z.object({ oldPassword: Sha1HexSchema, newPassword: Sha1HexSchema }),
      run: async (ctx, id, input) => {
        // The authorizer already limits this to the caller's own account; admin included.
        if (ctx.requireUser().name !== id) throw new ForbiddenError('a user may reset only its own password');
        if (!(await ctx.services.users.get(id))) throw new NotFoundError(`user ${id} not found`);
        await ctx.services.users.resetPassword(id, input.oldPassword, input.newPassword);
        return {};
      },
    }),
  },
});
