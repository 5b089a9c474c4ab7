// The one error core throws: a bad option, at construction or setConfig.
/** Thrown at construction (or `setConfig`) when an option has a bad value; `option` names it, e.g. `policy.maxChildAgeMs`. */
export class BrokerTraceConfigError extends Error {
  /** Path of the offending option, e.g. `policy.destinations["orders"].mode`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`brokertrace: invalid option \`${option}\`: ${message}`);
    this.name = 'BrokerTraceConfigError';
    this.option = option;
  }
}
