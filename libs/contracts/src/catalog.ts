import { EventCatalog } from './event-catalog';
import { activityEvents } from './events/activity.events';
import { exclusionEvents } from './events/exclusions.events';
import { connectionEvents, connectionWarningEvents } from './events/connections.events';
import { contactEvents } from './events/contacts.events';
import { mailEvents } from './events/mail.events';
import { quarantineEvents } from './events/quarantine.events';
import { sendingEvents } from './events/sending.events';
import { stateEvents } from './events/state.events';
import { syncEvents } from './events/sync.events';

/** Every event the platform knows, at every version still produced or consumed. */
export const eventCatalog = new EventCatalog([
  ...contactEvents,
  ...connectionEvents,
  ...mailEvents,
  ...sendingEvents,
  ...syncEvents,
  ...quarantineEvents,
  ...activityEvents,
  ...exclusionEvents,
  ...connectionWarningEvents,
  ...stateEvents,
]);
