import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class AuthorizeRequestDto {
  @ApiProperty({
    example: 'https://crm.example.com/settings/email',
    description: 'Where the browser returns after consent (must match OAUTH_RETURN_URL_ALLOWLIST)',
    maxLength: 2048,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  returnUrl!: string;
}

export class AuthorizeResponseDto {
  @ApiProperty({
    example:
      'https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent&scope=openid%20email%20https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fgmail.modify&state=eyJ...&response_type=code&client_id=...&redirect_uri=...',
    description: "The provider's consent screen; send the user's browser there",
  })
  authorizeUrl!: string;
}
