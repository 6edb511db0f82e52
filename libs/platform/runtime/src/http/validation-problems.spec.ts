import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsEmail, IsString, MaxLength, ValidateNested, validateSync } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { validationProblems } from './validation-problems';

class Recipient {
  @IsEmail() address!: string;
}
class Attachment {
  @IsString() @MaxLength(5) filename!: string;
}
class Body {
  @IsString() subject!: string;
  @ValidateNested({ each: true }) @Type(() => Recipient) to!: Recipient[];
  @ValidateNested() @Type(() => Attachment) attachment!: Attachment;
}

describe('validationProblems', () => {
  it('names each nested field that is wrong (a 400 never comes with an empty problem list)', () => {
    const body = plainToInstance(Body, {
      subject: 7,
      to: [{ address: 'ok@example.com' }, { address: 'not-an-address' }],
      attachment: { filename: 'much-too-long.pdf' },
    });
    const problems = validationProblems(validateSync(body));
    expect(problems.map((p) => p.field)).toEqual(['subject', 'to.1.address', 'attachment.filename']);
    for (const p of problems) expect(p.problems.length).toBeGreaterThan(0);
    expect(problems[1].problems[0]).toContain('address must be an email');
  });
});
