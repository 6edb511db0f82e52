/** Thrown by a closed bus, and to publishers still waiting for delivery when the in-process bus closes. */
export class BusClosedError extends Error {
  readonly code = 'bus_closed';
  constructor(message = 'The event bus is closed') {
    super(message);
    this.name = 'BusClosedError';
  }
}
