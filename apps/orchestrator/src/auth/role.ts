/** API roles; each includes the rights of the ones before it. */
export enum Role {
  Viewer = 'viewer',
  Operator = 'operator',
}

const RANK: Record<Role, number> = { [Role.Viewer]: 0, [Role.Operator]: 1 };

export function isRole(value: unknown): value is Role {
  return value === Role.Viewer || value === Role.Operator;
}

export function roleSatisfies(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required];
}
