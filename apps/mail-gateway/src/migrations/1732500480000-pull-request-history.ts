import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16: the highest Gmail history id the pending pull request was asked for (NULL: some request had none). A pull
 * whose cursor reached it has served the request, so notifications that came in during it ask for no second round.
 */
export class PullRequestHistory1732500480000 implements MigrationInterface {
  name = 'PullRequestHistory1732500480000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mail_gateway.mailboxes ADD COLUMN pull_request_history_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mail_gateway.mailboxes DROP COLUMN pull_request_history_id`);
  }
}
