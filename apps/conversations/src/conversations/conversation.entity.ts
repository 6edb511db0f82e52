import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One per contact per location, created with its first message; its id is `conversationIdFor(location, contact)`. */
@Entity({ schema: 'conversations', name: 'conversations' })
export class ConversationEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'conversation_id', type: 'uuid' })
  conversationId!: string;

  @Column({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** The latest send date among its messages: "newest activity first". */
  @Column({ name: 'last_message_at', type: 'timestamptz' })
  lastMessageAt!: Date;

  @Column({ name: 'last_subject', type: 'text', nullable: true })
  lastSubject!: string | null;

  @Column({ name: 'message_count', type: 'int' })
  messageCount!: number;
}
