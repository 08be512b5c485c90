/**
 * Reading a packaged CloudFormation template the way CloudFormation and Step Functions will: its IAM
 * statements, its state machine definitions with the Fn::Sub parameters filled in, and the dependency
 * graph between its resources.
 */

export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}
export interface Template {
  readonly Resources: Record<string, Resource>;
}
export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
}

/** Plausible values for the pseudo parameters of a stack packaged with `--region us-east-2`. */
export const STACK = { partition: 'aws', region: 'us-east-2', account: '123456789012' } as const;

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Every IAM statement of the template (trust policies included), with the logical id of its role or policy. */
export function statementsOf(template: Template): [string, Statement][] {
  const found: [string, Statement][] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Role') {
      documents.push(resource.Properties?.AssumeRolePolicyDocument);
      for (const policy of (resource.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) documents.push(policy.PolicyDocument);
    }
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(resource.Properties?.PolicyDocument);
    for (const document of documents) {
      for (const statement of (document as { Statement?: Statement[] } | undefined)?.Statement ?? []) found.push([id, statement]);
    }
  }
  return found;
}

/** The permission statements of one role (its trust policy left out). */
export function permissionsOf(template: Template, roleId: string): Statement[] {
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role in the template`);
  const policies = (role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? [];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

export function actionsOf(statement: Statement): string[] {
  return [statement.Action ?? []].flat();
}

/** A statement's resources as strings: Fn::Sub templates with the pseudo parameters filled, Refs as `Ref:<id>`. */
export function resourcesOf(statement: Statement): string[] {
  return [statement.Resource ?? []].flat().map((resource) => {
    if (typeof resource === 'string') return resource;
    const object = resource as { 'Fn::Sub'?: string; Ref?: string };
    if (typeof object['Fn::Sub'] === 'string') return fillPseudoParameters(object['Fn::Sub']);
    if (typeof object.Ref === 'string') return `Ref:${object.Ref}`;
    throw new Error(`unexpected IAM resource ${JSON.stringify(resource)}`);
  });
}

export function fillPseudoParameters(text: string): string {
  return text
    .replaceAll('${AWS::Partition}', STACK.partition)
    .replaceAll('${AWS::Region}', STACK.region)
    .replaceAll('${AWS::AccountId}', STACK.account);
}

/** The Fn::Sub of a DefinitionString: its text (placeholders `${name}` still in) and its parameters. */
export function definitionParts(machine: Resource): { readonly text: string; readonly params: Record<string, unknown> } {
  const raw = machine.Properties?.DefinitionString;
  if (typeof raw === 'string') return { text: raw, params: {} };
  const sub = (raw as { 'Fn::Sub': string | [string, Record<string, unknown>] })['Fn::Sub'];
  return Array.isArray(sub) ? { text: sub[0], params: sub[1] } : { text: sub, params: {} };
}

/** The ARN a reference to a template resource resolves to, for the resource types definitions use. */
function arnOfReference(template: Template, reference: unknown): string {
  const getAtt = (reference as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  const ref = (reference as { Ref?: string }).Ref;
  const id = getAtt?.[0] ?? ref;
  const target = id ? template.Resources[id] : undefined;
  if (getAtt && getAtt[1] === 'Arn' && target?.Type === 'AWS::Lambda::Function') {
    return `arn:aws:lambda:${STACK.region}:${STACK.account}:function:${String(target.Properties?.FunctionName)}`;
  }
  if (ref && target?.Type === 'AWS::StepFunctions::StateMachine') {
    return `arn:aws:states:${STACK.region}:${STACK.account}:stateMachine:${String(target.Properties?.StateMachineName)}`;
  }
  throw new Error(`definition parameter ${JSON.stringify(reference)} does not name a function ARN or state machine of the template`);
}

/** The definition as Step Functions will see it: Fn::Sub parameters and pseudo parameters filled in. */
export function resolvedDefinition(template: Template, machine: Resource): unknown {
  const { text, params } = definitionParts(machine);
  const filled = fillPseudoParameters(text).replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    if (!(name in params)) throw new Error(`definition placeholder ${placeholder} has no Fn::Sub parameter`);
    return arnOfReference(template, params[name]);
  });
  return JSON.parse(filled);
}

export interface TaskState {
  readonly name: string;
  readonly Resource: string;
  readonly TimeoutSeconds?: number;
  readonly Parameters?: Record<string, unknown>;
}

/** Every Task state of a definition, those inside Map and Parallel states included. */
export function taskStatesOf(definition: unknown): TaskState[] {
  const found: TaskState[] = [];
  const visit = (states: Record<string, Record<string, unknown>> | undefined) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === 'Task') found.push({ ...(state as Omit<TaskState, 'name'>), name });
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, Record<string, unknown>> } | undefined;
      visit(processor?.States);
      for (const branch of (state.Branches as { States?: Record<string, Record<string, unknown>> }[] | undefined) ?? []) visit(branch.States);
    }
  };
  visit((definition as { States?: Record<string, Record<string, unknown>> }).States);
  return found;
}

/** Logical ids a resource depends on: Ref, Fn::GetAtt, `${Id}`/`${Id.Attr}` in Fn::Sub, DependsOn. */
export function dependenciesOf(template: Template, resource: Resource): Set<string> {
  const found = new Set<string>([resource.DependsOn ?? []].flat());
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') found.add(object.Ref);
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') found.add(getAtt[0]);
    const sub = object['Fn::Sub'];
    const subText = Array.isArray(sub) ? sub[0] : sub;
    if (typeof subText === 'string') {
      const params = Array.isArray(sub) ? (sub[1] as Record<string, unknown>) : {};
      for (const match of subText.matchAll(/\$\{([A-Za-z0-9_]+)(\.[A-Za-z0-9_.]+)?\}/g)) {
        if (!(match[1]! in params)) found.add(match[1]!);
      }
    }
    Object.values(object).forEach(visit);
  };
  visit(resource.Properties);
  return new Set([...found].filter((id) => id in template.Resources));
}

/** A dependency cycle between resources (CloudFormation refuses to create such a stack), or undefined. */
export function findDependencyCycle(template: Template): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const walk = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    for (const next of dependenciesOf(template, template.Resources[id]!)) {
      const cycle = walk(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of Object.keys(template.Resources)) {
    const cycle = walk(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}
