import { EventCatalog } from './event-catalog';
import { contactEvents } from './events/contacts.events';

/** Every event the platform knows, at every version still produced or consumed. */
export const eventCatalog = new EventCatalog([...contactEvents]);
