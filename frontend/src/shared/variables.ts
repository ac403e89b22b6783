/** Grafana's `replaceVariables` as panels receive it. */
export type ReplaceVariables = (value: string, scopedVars?: undefined, format?: string) => string;

/**
 * The value of dashboard variable `name` as a regex (Grafana's `regex` format), or undefined when it
 * is unset, All, or not a variable of the dashboard (Grafana then leaves `$name` as it is).
 */
export function variableValue(replace: ReplaceVariables, name: string): string | undefined {
  const raw = `$${name}`;
  const value = replace(raw, undefined, 'regex');
  if (value === raw || value === '' || value === '$__all' || value === '.*' || value === '.+' || value === 'All') {
    return undefined;
  }
  return value;
}

/** Whether `instance` matches a variable's regex value, anchored as Prometheus' `=~` is. */
export function matchesVariable(instance: string | undefined, value: string): boolean {
  if (instance === undefined) {
    return false;
  }
  try {
    return new RegExp(`^(?:${value})$`).test(instance);
  } catch {
    return instance === value;
  }
}
